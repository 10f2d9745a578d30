package driftmonitor_test

// These tests talk to the real stack through Envoy: tests/clients/test_go.py starts it and passes
// DRIFT_MONITOR_URL, DRIFT_MONITOR_CA_BUNDLE, DRIFT_MONITOR_TOKEN (manager) and
// DRIFT_MONITOR_TEST_OUTSIDER_TOKEN. Without them they skip (and that test counts skips as failures).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"example.org/drift-monitoring/go/driftmonitor"
	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

func stackConfig(t testing.TB) driftmonitor.Config {
	t.Helper()
	if os.Getenv("DRIFT_MONITOR_URL") == "" {
		t.Skip("needs the stack: run through tests/clients/test_go.py")
	}
	config, err := driftmonitor.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	return config
}

func dial(t testing.TB, config driftmonitor.Config) *driftmonitor.Client {
	t.Helper()
	client, err := driftmonitor.Dial(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func unique(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// newExperiment registers the manager and creates a private experiment of its own.
func newExperiment(t testing.TB, client *driftmonitor.Client) *pb.Experiment {
	t.Helper()
	ctx := context.Background()
	if _, err := client.Register(ctx); err != nil {
		t.Fatal(err)
	}
	experiment, err := client.CreateExperiment(ctx, unique("go"), "made by the Go client tests")
	if err != nil {
		t.Fatal(err)
	}
	return experiment
}

func getDrift(t *testing.T, client *driftmonitor.Client, experimentID, driftID string) *pb.Drift {
	t.Helper()
	drift, err := client.Drifts.GetDrift(context.Background(), &pb.GetDriftRequest{ExperimentId: experimentID, DriftId: driftID})
	if err != nil {
		t.Fatal(err)
	}
	return drift
}

func TestRunRecordsACompletedDrift(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	ctx := context.Background()
	pValue := 0.003
	var id string
	err := client.Run(ctx, experiment.GetName(), "xgb-credit-v3", func(run *driftmonitor.Run) error {
		id = run.Drift().GetId()
		if running := getDrift(t, client, experiment.GetId(), id); running.GetStatus() != pb.DriftStatus_DRIFT_STATUS_RUNNING {
			t.Errorf("while recording: status %v, want RUNNING", running.GetStatus())
		}
		if err := run.Concept(ctx, true, map[string]any{"p_value": 0.01, "window": map[string]any{"size": 1000}, "features": []any{"age", "income"}}); err != nil {
			return err
		}
		return run.Data(ctx, false, nil, &pb.FeatureResult{Feature: "age", Test: "ks", Statistic: 0.12, PValue: &pValue, Detected: false})
	}, driftmonitor.WithTags("weekly", "go"))
	if err != nil {
		t.Fatal(err)
	}

	drift := getDrift(t, client, experiment.GetId(), id)
	if drift.GetStatus() != pb.DriftStatus_DRIFT_STATUS_COMPLETED || drift.GetEndTime() == nil || drift.GetErrorMessage() != "" {
		t.Errorf("finished drift: status %v, end_time %v, error %q", drift.GetStatus(), drift.GetEndTime(), drift.GetErrorMessage())
	}
	if drift.GetModel() != "xgb-credit-v3" || len(drift.GetTags()) != 2 || drift.GetTags()[0] != "weekly" {
		t.Errorf("model %q tags %v", drift.GetModel(), drift.GetTags())
	}
	concept := drift.GetConceptDrift()
	if !concept.GetDetected() || concept.GetParameters().AsMap()["p_value"] != 0.01 {
		t.Errorf("concept_drift %v", concept)
	}
	if size := concept.GetParameters().GetFields()["window"].GetStructValue().GetFields()["size"].GetNumberValue(); size != 1000 {
		t.Errorf("concept_drift.parameters.window.size = %v, want 1000", size)
	}
	features := drift.GetDataDrift().GetFeatures()
	if drift.GetDataDrift().GetDetected() || len(features) != 1 || features[0].GetFeature() != "age" || features[0].GetPValue() != 0.003 || features[0].Threshold != nil {
		t.Errorf("data_drift %v", drift.GetDataDrift())
	}
	if drift.GetResult() != nil {
		t.Errorf("result %v, want none: it was never recorded", drift.GetResult())
	}
	if !drift.GetStartTime().AsTime().Before(drift.GetEndTime().AsTime()) {
		t.Errorf("start_time %v not before end_time %v", drift.GetStartTime().AsTime(), drift.GetEndTime().AsTime())
	}
}

// ListDrifts passes the filter language through, per-feature conditions included: those joined by AND
// hold for the same feature, so the run where age did not drift (but income did) is not listed.
func TestListDriftsByPerFeatureResult(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	ctx := context.Background()
	record := func(model string, features ...*pb.FeatureResult) {
		t.Helper()
		err := client.Run(ctx, experiment.GetName(), model, func(run *driftmonitor.Run) error {
			return run.Data(ctx, true, nil, features...)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	low, high := 0.001, 0.6
	record("age-drifted", &pb.FeatureResult{Feature: "age", Test: "ks", Statistic: 0.4, PValue: &low, Detected: true})
	record("income-drifted",
		&pb.FeatureResult{Feature: "age", Test: "ks", Statistic: 0.05, PValue: &high},
		&pb.FeatureResult{Feature: "income", Test: "ks", Statistic: 0.4, PValue: &low, Detected: true})
	models := func(filter string) []string {
		t.Helper()
		drifts, err := client.ListDrifts(ctx, experiment.GetId(), filter, "model")
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		var out []string
		for _, drift := range drifts {
			out = append(out, drift.GetModel())
		}
		return out
	}
	if got := models(`data_drift.features.feature = "age" AND data_drift.features.detected = true`); !slices.Equal(got, []string{"age-drifted"}) {
		t.Errorf("same feature: got %v, want [age-drifted]", got)
	}
	if got := models(`data_drift.features.feature = "age" AND data_drift.features.p_value > 0.5`); !slices.Equal(got, []string{"income-drifted"}) {
		t.Errorf("p_value: got %v, want [income-drifted]", got)
	}
	_, err := client.ListDrifts(ctx, experiment.GetId(), `model = x OR data_drift.features.detected = true`, "")
	if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), "filter: ") {
		t.Errorf("under OR: %v, want INVALID_ARGUMENT naming the filter", err)
	}
}

func TestRunMarksFailedAndReturnsTheError(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	ctx := context.Background()
	crashed := errors.New("detector crashed: window too small")
	var id string
	err := client.Run(ctx, experiment.GetName(), "lgbm-churn-v2", func(run *driftmonitor.Run) error {
		id = run.Drift().GetId()
		if err := run.Result(ctx, true, map[string]any{"score": 0.9}); err != nil {
			return err
		}
		return crashed
	})
	if !errors.Is(err, crashed) {
		t.Fatalf("Run returned %v, want the record function's error", err)
	}
	drift := getDrift(t, client, experiment.GetId(), id)
	if drift.GetStatus() != pb.DriftStatus_DRIFT_STATUS_FAILED || drift.GetErrorMessage() != crashed.Error() {
		t.Errorf("status %v error_message %q", drift.GetStatus(), drift.GetErrorMessage())
	}
	if !drift.GetResult().GetDetected() {
		t.Errorf("the result recorded before the failure is kept: %v", drift.GetResult())
	}
}

func TestRunMarksFailedOnPanicAndPanicsOn(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	var id string
	func() {
		defer func() {
			if recovered := recover(); recovered != "boom" {
				t.Errorf("recovered %v, want the original panic", recovered)
			}
		}()
		_ = client.Run(context.Background(), experiment.GetName(), "m", func(run *driftmonitor.Run) error {
			id = run.Drift().GetId()
			panic("boom")
		})
	}()
	drift := getDrift(t, client, experiment.GetId(), id)
	if drift.GetStatus() != pb.DriftStatus_DRIFT_STATUS_FAILED || drift.GetErrorMessage() != "panic: boom" {
		t.Errorf("status %v error_message %q", drift.GetStatus(), drift.GetErrorMessage())
	}
}

func TestRunMarksFailedWhenTheGoroutineExits(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	ids := make(chan string, 1)
	done := make(chan struct{})
	go func() { // as a t.FailNow inside the job would do
		defer close(done)
		_ = client.Run(context.Background(), experiment.GetName(), "m", func(run *driftmonitor.Run) error {
			ids <- run.Drift().GetId()
			runtime.Goexit()
			return nil
		})
	}()
	<-done
	drift := getDrift(t, client, experiment.GetId(), <-ids)
	if drift.GetStatus() != pb.DriftStatus_DRIFT_STATUS_FAILED || !strings.Contains(drift.GetErrorMessage(), "Goexit") {
		t.Errorf("status %v error_message %q", drift.GetStatus(), drift.GetErrorMessage())
	}
}

func TestRunFinishesEvenWhenTheContextIsCancelled(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	ctx, cancel := context.WithCancel(context.Background())
	var id string
	err := client.Run(ctx, experiment.GetName(), "m", func(run *driftmonitor.Run) error {
		id = run.Drift().GetId()
		cancel() // the job is interrupted
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if drift := getDrift(t, client, experiment.GetId(), id); drift.GetStatus() != pb.DriftStatus_DRIFT_STATUS_FAILED {
		t.Errorf("status %v, want FAILED (not left RUNNING)", drift.GetStatus())
	}
}

func TestRunFollowsAnExperimentMadeAgainUnderItsName(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	ctx := context.Background()
	noop := func(*driftmonitor.Run) error { return nil }
	if err := client.Run(ctx, experiment.GetName(), "m", noop); err != nil { // remembers the id
		t.Fatal(err)
	}
	if _, err := client.Experiments.DeleteExperiment(ctx, &pb.DeleteExperimentRequest{ExperimentId: experiment.GetId()}); err != nil {
		t.Fatal(err)
	}
	again, err := client.CreateExperiment(ctx, experiment.GetName(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Run(ctx, experiment.GetName(), "m", noop); err != nil {
		t.Fatalf("after the experiment was made again: %v", err)
	}
	drifts, err := client.ListDrifts(ctx, again.GetId(), "", "")
	if err != nil || len(drifts) != 1 {
		t.Errorf("drifts in the new experiment: %d, %v", len(drifts), err)
	}
}

func TestRunInAnUnknownExperimentIsNotFound(t *testing.T) {
	client := dial(t, stackConfig(t))
	called := false
	err := client.Run(context.Background(), unique("no-such-experiment"), "m", func(*driftmonitor.Run) error { called = true; return nil })
	if status.Code(err) != codes.NotFound || called {
		t.Errorf("err %v (code %v), record called %v", err, status.Code(err), called)
	}
}

// A name with filter (or regex) metacharacters never resolves to another experiment, and a run under
// it lands only there: "!" sorts before them all, so a prefix match ordered by name would pick the decoy.
func TestFindExperimentIsExactWhateverTheNameContains(t *testing.T) {
	client := dial(t, stackConfig(t))
	ctx := context.Background()
	if _, err := client.Register(ctx); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"*", `\*`, ".*", "^", "[a-z]", `"`, `\`, " AND name:*"} {
		stem := unique("go-exact")
		decoy, err := client.CreateExperiment(ctx, stem+"!decoy", "")
		if err != nil {
			t.Fatal(err)
		}
		if found, err := client.FindExperiment(ctx, stem+suffix); status.Code(err) != codes.NotFound {
			t.Errorf("%q before it exists: %v, %v; want NOT_FOUND", stem+suffix, found, err)
		}
		wanted, err := client.CreateExperiment(ctx, stem+suffix, "")
		if err != nil {
			t.Fatal(err)
		}
		if found, err := client.FindExperiment(ctx, stem+suffix); err != nil || found.GetId() != wanted.GetId() {
			t.Errorf("%q: %v, %v; want %v", stem+suffix, found, err, wanted)
		}
		if err := client.Run(ctx, wanted.GetName(), "m", func(*driftmonitor.Run) error { return nil }); err != nil {
			t.Fatal(err)
		}
		for experiment, want := range map[*pb.Experiment]int{wanted: 1, decoy: 0} {
			listed, err := client.Drifts.ListDrifts(ctx, &pb.ListDriftsRequest{ExperimentId: experiment.GetId()})
			if err != nil || len(listed.GetDrifts()) != want {
				t.Errorf("%q holds %d runs (%v), want %d", experiment.GetName(), len(listed.GetDrifts()), err, want)
			}
		}
	}
}

func TestAPIErrorsCarryCodeAndReason(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	ctx := context.Background()
	_, err := client.Drifts.CreateDrift(ctx, &pb.CreateDriftRequest{ExperimentId: experiment.GetId(), Drift: &pb.Drift{Model: ""}})
	if status.Code(err) != codes.InvalidArgument || driftmonitor.Reason(err) == "" {
		t.Errorf("empty model: %v, reason %q", err, driftmonitor.Reason(err))
	}

	// The outsider may not read the manager's private experiment: it does not exist for them.
	outsiderConfig := stackConfig(t)
	outsiderConfig.Token = driftmonitor.StaticToken(os.Getenv("DRIFT_MONITOR_TEST_OUTSIDER_TOKEN"))
	outsider := dial(t, outsiderConfig)
	if _, err := outsider.Register(ctx); err != nil {
		t.Fatal(err)
	}
	err = outsider.Run(ctx, experiment.GetName(), "m", func(*driftmonitor.Run) error { return nil })
	if status.Code(err) != codes.NotFound {
		t.Errorf("outsider Run: %v, want NotFound", err)
	}
	_, err = outsider.Experiments.GetExperiment(ctx, &pb.GetExperimentRequest{ExperimentId: experiment.GetId()})
	if status.Code(err) != codes.NotFound {
		t.Errorf("outsider GetExperiment: %v, want NotFound", err)
	}
}

func TestTLSTrustsOnlyTheConfiguredCA(t *testing.T) {
	config := stackConfig(t)
	config.CABundle = "" // the system roots do not know the dev CA
	client := dial(t, config)
	// It fails at the TLS handshake, long before the deadline; generous for a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.Experiments.ListExperiments(ctx, &pb.ListExperimentsRequest{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the dev CA: %v, want Unavailable (certificate not trusted)", err)
	}
}

func TestTheTokenSourceIsAskedForEveryCall(t *testing.T) {
	config := stackConfig(t)
	token, _ := config.Token.Token(context.Background())
	var asked atomic.Int32
	config.Token = driftmonitor.TokenFunc(func(context.Context) (string, error) { asked.Add(1); return token, nil })
	client := dial(t, config)
	for range 2 {
		if _, err := client.Users.GetCurrentUser(context.Background(), &pb.GetCurrentUserRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if asked.Load() != 2 {
		t.Errorf("token source asked %d times for 2 calls", asked.Load())
	}

	config.Token = driftmonitor.StaticToken("not-a-jwt")
	_, err := dial(t, config).Users.GetCurrentUser(context.Background(), &pb.GetCurrentUserRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("a bad token: %v, want Unauthenticated", err)
	}
}

func TestWatchSeesARunFromStartToFinish(t *testing.T) {
	client := dial(t, stackConfig(t))
	experiment := newExperiment(t, client)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := client.Drifts.WatchDrifts(ctx, &pb.WatchDriftsRequest{ExperimentId: experiment.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	// A watch starts at the present; the first heartbeat proves the stream is live before we write.
	if first, err := stream.Recv(); err != nil || first.GetType() != pb.DriftEventType_DRIFT_EVENT_TYPE_HEARTBEAT {
		t.Fatalf("first event %v, %v; want a heartbeat", first, err)
	}
	err = client.Run(ctx, experiment.GetName(), "m", func(run *driftmonitor.Run) error { return run.Concept(ctx, true, nil) })
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for len(seen) < 3 {
		event, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %v: %v", seen, err)
		}
		if event.GetType() != pb.DriftEventType_DRIFT_EVENT_TYPE_HEARTBEAT {
			seen = append(seen, event.GetType().String()+"/"+event.GetDrift().GetStatus().String())
		}
	}
	want := []string{"DRIFT_EVENT_TYPE_CREATED/DRIFT_STATUS_RUNNING", "DRIFT_EVENT_TYPE_UPDATED/DRIFT_STATUS_RUNNING", "DRIFT_EVENT_TYPE_UPDATED/DRIFT_STATUS_COMPLETED"}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("events %v, want %v", seen, want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("DRIFT_MONITOR_MYTOKEN", "")
	t.Setenv("DRIFT_MONITOR_URL", "")
	if _, err := driftmonitor.ConfigFromEnv(); err == nil {
		t.Error("no URL: want an error")
	}
	t.Setenv("DRIFT_MONITOR_URL", "drift.example.org:443")
	t.Setenv("DRIFT_MONITOR_TOKEN", "abc")
	t.Setenv("DRIFT_MONITOR_TIMEOUT", "2.5")
	config, err := driftmonitor.ConfigFromEnv()
	if err != nil || config.Timeout != 2500*time.Millisecond || config.Token != driftmonitor.StaticToken("abc") {
		t.Errorf("config %+v, err %v", config, err)
	}
	t.Setenv("DRIFT_MONITOR_TIMEOUT", "soon")
	if _, err := driftmonitor.ConfigFromEnv(); err == nil {
		t.Error("timeout 'soon': want an error")
	}
}

// BenchmarkRun is the wall time Run adds to a job: create, concept, data, complete (bench/go_client.py).
func BenchmarkRun(b *testing.B) {
	client := dial(b, stackConfig(b))
	experiment := newExperiment(b, client)
	ctx := context.Background()
	parameters := map[string]any{}
	for i := range 20 {
		parameters[fmt.Sprintf("param_%d", i)] = float64(i) * 0.1
	}
	timings := make([]time.Duration, 0, b.N)
	for b.Loop() {
		started := time.Now()
		err := client.Run(ctx, experiment.GetName(), "bench-model", func(run *driftmonitor.Run) error {
			if err := run.Concept(ctx, false, parameters); err != nil {
				return err
			}
			return run.Data(ctx, true, parameters)
		})
		if err != nil {
			b.Fatal(err)
		}
		timings = append(timings, time.Since(started))
	}
	slices.Sort(timings)
	b.ReportMetric(float64(timings[len(timings)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(timings[min(len(timings)-1, len(timings)*99/100)].Microseconds())/1000, "p99-ms")
}
