package driftmonitor_test

import (
	"context"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.org/drift-monitoring/go/driftmonitor"
	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

// cutter forwards TCP to the edge and can cut every open connection, as a network blip or an edge
// restart would; new connections still get through.
type cutter struct {
	listener net.Listener
	mu       sync.Mutex
	conns    []net.Conn
}

func newCutter(t *testing.T, target string) *cutter {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{listener: listener}
	t.Cleanup(func() { listener.Close(); c.cut() })
	go func() {
		for {
			client, err := listener.Accept()
			if err != nil {
				return
			}
			upstream, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, client, upstream)
			c.mu.Unlock()
			go func() { _, _ = io.Copy(upstream, client); upstream.Close() }()
			go func() { _, _ = io.Copy(client, upstream); client.Close() }()
		}
	}()
	return c
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// The address to dial: "localhost", which the dev certificate names, on the cutter's port.
func (c *cutter) url() string {
	return "localhost:" + c.listener.Addr().String()[strings.LastIndex(c.listener.Addr().String(), ":")+1:]
}

// changes reads events from a Watch loop into a channel, heartbeats left out.
func changes(ctx context.Context, t *testing.T, client *driftmonitor.Client, experimentID, token string) (<-chan *pb.WatchDriftsResponse, <-chan struct{}) {
	events, live := make(chan *pb.WatchDriftsResponse, 100), make(chan struct{})
	go func() {
		defer close(events)
		once := sync.Once{}
		for event, err := range client.Watch(ctx, experimentID, token) {
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("watch: %v", err)
				}
				return
			}
			if event.GetType() == pb.DriftEventType_DRIFT_EVENT_TYPE_HEARTBEAT {
				once.Do(func() { close(live) })
				continue
			}
			events <- event
		}
	}()
	return events, live
}

func next(t *testing.T, events <-chan *pb.WatchDriftsResponse) *pb.WatchDriftsResponse {
	t.Helper()
	select {
	case event := <-events:
		return event
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15 s")
		return nil
	}
}

func TestWatchReconnectsAfterACutWithoutGapOrDuplicate(t *testing.T) {
	config := stackConfig(t)
	client := dial(t, config)
	experiment := newExperiment(t, client)
	edge := newCutter(t, strings.Replace(config.URL, "localhost", "127.0.0.1", 1))
	config.URL = edge.url()
	watcher := dial(t, config)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, live := changes(ctx, t, watcher, experiment.GetId(), "")
	<-live
	record := func(model string) {
		err := client.Run(ctx, experiment.GetName(), model, func(run *driftmonitor.Run) error { return run.Concept(ctx, true, nil) })
		if err != nil {
			t.Fatal(err)
		}
	}
	record("before-the-cut")
	first := next(t, events)
	edge.cut() // the watcher's connection drops; the run below happens while it reconnects
	record("during-the-cut")

	seen := []string{first.GetDrift().GetModel() + "/" + first.GetType().String()}
	for len(seen) < 6 {
		event := next(t, events)
		seen = append(seen, event.GetDrift().GetModel()+"/"+event.GetType().String())
	}
	want := []string{
		"before-the-cut/DRIFT_EVENT_TYPE_CREATED", "before-the-cut/DRIFT_EVENT_TYPE_UPDATED", "before-the-cut/DRIFT_EVENT_TYPE_UPDATED",
		"during-the-cut/DRIFT_EVENT_TYPE_CREATED", "during-the-cut/DRIFT_EVENT_TYPE_UPDATED", "during-the-cut/DRIFT_EVENT_TYPE_UPDATED",
	}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("events\n %v\nwant\n %v", seen, want)
	}
	select {
	case extra := <-events:
		t.Errorf("an event too many: %v", extra)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestWatchFromAResumeToken(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, live := changes(ctx, t, client, experiment.GetId(), "")
	<-live
	err := client.Run(ctx, experiment.GetName(), "m", func(*driftmonitor.Run) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	created, completed := next(t, events), next(t, events)

	// From the CREATED event's token: exactly the events after it.
	for event, err := range client.Watch(ctx, experiment.GetId(), created.GetResumeToken()) {
		if err != nil {
			t.Fatal(err)
		}
		if event.GetResumeToken() != completed.GetResumeToken() || event.GetType() != pb.DriftEventType_DRIFT_EVENT_TYPE_UPDATED {
			t.Errorf("resumed with %v, want the COMPLETED update %v", event, completed)
		}
		break
	}
}

// A resume token older than the server's event log ends the loop with OUT_OF_RANGE at once (no
// reconnecting: the same token would be refused again); watching from the present then works.
// tests/clients/test_go.py passes an edge whose server keeps only 100 events, and such a token.
func TestWatchFromATokenOlderThanTheLogIsOutOfRange(t *testing.T) {
	config := stackConfig(t)
	config.URL = os.Getenv("DRIFT_MONITOR_TEST_STALE_URL")
	experimentID, stale := os.Getenv("DRIFT_MONITOR_TEST_STALE_EXPERIMENT"), os.Getenv("DRIFT_MONITOR_TEST_STALE_TOKEN")
	if config.URL == "" || experimentID == "" || stale == "" {
		t.Fatal("needs DRIFT_MONITOR_TEST_STALE_URL, _EXPERIMENT and _TOKEN (tests/clients/test_go.py sets them)")
	}
	client := dial(t, config)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	yielded := 0
	for event, err := range client.Watch(ctx, experimentID, stale) {
		yielded++
		if status.Code(err) != codes.OutOfRange || !driftmonitor.ResumeTokenExpired(err) || event != nil {
			t.Fatalf("event %v, err %v: want OUT_OF_RANGE", event, err)
		}
	}
	if yielded != 1 {
		t.Errorf("the loop yielded %d times, want the one error", yielded)
	}
	for event, err := range client.Watch(ctx, experimentID, "") {
		if err != nil || event.GetResumeToken() == "" {
			t.Fatalf("from the present: %v, %v", event, err)
		}
		break
	}
}
