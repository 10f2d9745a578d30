package driftmonitor

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

// Watch yields the changes to an experiment's drifts as they happen, heartbeats included, starting
// right after resumeToken (empty: at the present). When the connection drops (UNAVAILABLE: the edge or a
// server restarting) it reconnects with the last event's resume token, so the loop sees no gap and no
// duplicate. Any other error, or the end of ctx, is yielded once and ends the loop; OUT_OF_RANGE
// (ResumeTokenExpired) means resumeToken is older than the server's event log keeps: list the drifts
// again and watch from the present ("").
//
//	for event, err := range client.Watch(ctx, experimentID, "") {
//		if err != nil { return err }
//		...
//	}
//
// ResumeTokenExpired reports whether err ended a Watch because its resume token is older than the
// retained event log (OUT_OF_RANGE): resync rather than retry.
func ResumeTokenExpired(err error) bool { return status.Code(err) == codes.OutOfRange }

func (c *Client) Watch(ctx context.Context, experimentID, resumeToken string) iter.Seq2[*pb.WatchDriftsResponse, error] {
	return func(yield func(*pb.WatchDriftsResponse, error) bool) {
		ctx, cancel := context.WithCancel(ctx) // ends the stream when the loop breaks
		defer cancel()
		const firstBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
		backoff := firstBackoff
		for {
			stream, err := c.Drifts.WatchDrifts(ctx, &pb.WatchDriftsRequest{ExperimentId: experimentID, ResumeToken: resumeToken})
			for err == nil {
				var event *pb.WatchDriftsResponse
				if event, err = stream.Recv(); err == nil {
					resumeToken, backoff = event.GetResumeToken(), firstBackoff
					if !yield(event, nil) {
						return
					}
				}
			}
			if errors.Is(err, io.EOF) {
				return // the server ended the stream cleanly
			}
			if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
				yield(nil, err)
				return
			}
			select {
			case <-ctx.Done():
				yield(nil, ctx.Err())
				return
			case <-time.After(backoff):
				backoff = min(2*backoff, maxBackoff)
			}
		}
	}
}
