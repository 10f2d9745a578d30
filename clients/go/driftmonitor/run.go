package driftmonitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

const maxErrorMessage = 4096 // the server's limit for error_message

// Run is one run of a drift-detection job, between Client.Run's start and finish. Record from the
// goroutine that Client.Run called: a Run is not safe for concurrent use.
type Run struct {
	client *Client
	drift  *pb.Drift
}

// RunOption adjusts a run before it is created.
type RunOption func(*pb.Drift)

// WithTags labels the run.
func WithTags(tags ...string) RunOption {
	return func(drift *pb.Drift) { drift.Tags = append(drift.Tags, tags...) }
}

// Run records one run of a job in the named experiment: it creates the drift (RUNNING), calls record,
// and then completes the drift, or marks it FAILED with record's error (returned to the caller) or
// panic (re-raised after the drift is marked). The finish is sent with a context of its own, so a
// cancelled ctx still leaves the run FAILED rather than RUNNING forever.
func (c *Client) Run(ctx context.Context, experiment, model string, record func(*Run) error, options ...RunOption) error {
	drift := &pb.Drift{Model: model, StartTime: timestamppb.Now()}
	if c.heartbeat > 0 {
		lease := leaseBeats * c.heartbeat
		drift.LeaseDuration = durationpb.New(max(time.Second, lease.Truncate(time.Millisecond)))
	}
	for _, option := range options {
		option(drift)
	}
	// One request_id per run: a retried create returns the drift the first attempt stored.
	request := &pb.CreateDriftRequest{Drift: drift, RequestId: requestID()}
	var created *pb.Drift
	for attempt := 0; ; attempt++ {
		id, err := c.experimentID(ctx, experiment)
		if err != nil {
			return err
		}
		request.ExperimentId = id
		created, err = c.Drifts.CreateDrift(ctx, request)
		if status.Code(err) == codes.NotFound && attempt == 0 {
			c.forgetExperiment(experiment) // deleted (and perhaps made again) since we looked it up
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	drift.Id, drift.ExperimentId = created.GetId(), created.GetExperimentId()
	run := &Run{client: c, drift: drift}
	stopBeating := func() {}
	if created.GetLeaseDuration() != nil {
		stopBeating = run.heartbeat(context.WithoutCancel(ctx), c.heartbeat)
	}

	finished := false
	defer func() {
		if finished {
			return
		}
		// record panicked, or called runtime.Goexit (as t.FailNow does): mark the run, then go on unwinding.
		failure := recover()
		reason := fmt.Errorf("panic: %v", failure)
		if failure == nil {
			reason = errors.New("the job's goroutine exited (runtime.Goexit)")
		}
		stopBeating()
		_ = run.finish(context.WithoutCancel(ctx), reason)
		if failure != nil {
			panic(failure)
		}
	}()
	recordErr := record(run)
	finished = true
	stopBeating() // before the final state: no renewal races it
	if finishErr := run.finish(context.WithoutCancel(ctx), recordErr); finishErr != nil {
		return errors.Join(recordErr, finishErr)
	}
	return recordErr
}

// Concept records concept drift: whether it was detected, and the detector's parameters and outputs
// (JSON-like values: maps, slices, strings, numbers, bools, nil).
func (r *Run) Concept(ctx context.Context, detected bool, parameters map[string]any, features ...*pb.FeatureResult) error {
	return r.record(ctx, "concept_drift", &r.drift.ConceptDrift, detected, parameters, features)
}

// Data records data drift, optionally with per-feature test results.
func (r *Run) Data(ctx context.Context, detected bool, parameters map[string]any, features ...*pb.FeatureResult) error {
	return r.record(ctx, "data_drift", &r.drift.DataDrift, detected, parameters, features)
}

// Result records a single verdict, for jobs that report one rather than concept and data drift.
func (r *Run) Result(ctx context.Context, detected bool, parameters map[string]any, features ...*pb.FeatureResult) error {
	return r.record(ctx, "result", &r.drift.Result, detected, parameters, features)
}

// Drift is a copy of the run as recorded so far (its Id is the stored drift's).
func (r *Run) Drift() *pb.Drift { return proto.Clone(r.drift).(*pb.Drift) }

func (r *Run) record(ctx context.Context, path string, field **pb.DriftResult, detected bool, parameters map[string]any, features []*pb.FeatureResult) error {
	result := &pb.DriftResult{Detected: detected, Features: features}
	if len(parameters) > 0 {
		encoded, err := structpb.NewStruct(parameters)
		if err != nil {
			return fmt.Errorf("%s.parameters: %w", path, err)
		}
		result.Parameters = encoded
	}
	*field = result
	return r.update(ctx, path)
}

// heartbeat renews the run's lease every interval until the returned stop is called (which waits for
// it to end). A renewal that fails is left to the next beat; a run the server will not renew any more
// (finished or deleted) stops beating.
func (r *Run) heartbeat(ctx context.Context, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	request := &pb.RenewDriftLeaseRequest{ExperimentId: r.drift.GetExperimentId(), DriftId: r.drift.GetId()}
	go func() {
		defer close(done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			beat, cancelBeat := context.WithTimeout(ctx, interval)
			_, err := r.client.Drifts.RenewDriftLease(beat, request)
			cancelBeat()
			if code := status.Code(err); code == codes.NotFound || code == codes.FailedPrecondition {
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func (r *Run) finish(ctx context.Context, failure error) error {
	r.drift.EndTime = timestamppb.Now()
	r.drift.Status = pb.DriftStatus_DRIFT_STATUS_COMPLETED
	if failure != nil {
		r.drift.Status = pb.DriftStatus_DRIFT_STATUS_FAILED
		r.drift.ErrorMessage = truncate(failure.Error(), maxErrorMessage)
	}
	paths := []string{"status", "end_time", "error_message"}
	for path, result := range map[string]*pb.DriftResult{"concept_drift": r.drift.ConceptDrift, "data_drift": r.drift.DataDrift, "result": r.drift.Result} {
		if result != nil {
			paths = append(paths, path)
		}
	}
	return r.update(ctx, paths...)
}

func (r *Run) update(ctx context.Context, paths ...string) error {
	_, err := r.client.Drifts.UpdateDrift(ctx, &pb.UpdateDriftRequest{Drift: r.drift, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	return err
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

func truncate(s string, n int) string {
	runes := []rune(s)
	if len(runes) <= n {
		return s
	}
	return string(runes[:n])
}
