// Command crosslang is the Go side of the cross-language scenario (tests/clients/test_scenario.py):
// register, create an experiment, start watching it, record the runs of a spec file with Run, list them,
// and collect the watched events until every run is complete. It prints what it listed and watched as
// JSON with proto field names, the way the Python and curl sides report theirs.
//
//	go run ./internal/crosslang -spec ../../tests/clients/scenario.json -experiment NAME
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"iter"
	"os"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"example.org/drift-monitoring/go/driftmonitor"
	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

// result is one recorded verdict of a spec run; features are proto JSON.
type result struct {
	Detected   bool              `json:"detected"`
	Parameters map[string]any    `json:"parameters"`
	Features   []json.RawMessage `json:"features"`
}

type spec struct {
	Description string `json:"experiment_description"`
	Runs        []struct {
		Model        string   `json:"model"`
		Tags         []string `json:"tags"`
		ConceptDrift *result  `json:"concept_drift"`
		DataDrift    *result  `json:"data_drift"`
		Result       *result  `json:"result"`
	} `json:"runs"`
}

type report struct {
	ExperimentID string            `json:"experiment_id"`
	Listed       []json.RawMessage `json:"listed"`
	Watched      []json.RawMessage `json:"watched"`
}

func main() {
	specPath := flag.String("spec", "", "scenario spec (JSON)")
	name := flag.String("experiment", "", "name of the experiment to create")
	flag.Parse()
	if err := scenario(*specPath, *name); err != nil {
		fmt.Fprintln(os.Stderr, "crosslang:", err)
		os.Exit(1)
	}
}

func scenario(specPath, name string) error {
	var s spec
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	config, err := driftmonitor.ConfigFromEnv()
	if err != nil {
		return err
	}
	client, err := driftmonitor.Dial(config)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if _, err := client.Register(ctx); err != nil {
		return err
	}
	experiment, err := client.CreateExperiment(ctx, name, s.Description)
	if err != nil {
		return err
	}
	nextEvent, stop := iter.Pull2(client.Watch(ctx, experiment.GetId(), ""))
	defer stop()
	// The watch starts at the present: its first heartbeat says it is live before anything is recorded.
	if first, err, _ := nextEvent(); err != nil || first.GetType() != pb.DriftEventType_DRIFT_EVENT_TYPE_HEARTBEAT {
		return fmt.Errorf("watch: first event %v, %v", first, err)
	}

	for _, run := range s.Runs {
		err := client.Run(ctx, name, run.Model, func(r *driftmonitor.Run) error {
			for _, step := range []struct {
				spec   *result
				record func(context.Context, bool, map[string]any, ...*pb.FeatureResult) error
			}{{run.ConceptDrift, r.Concept}, {run.DataDrift, r.Data}, {run.Result, r.Result}} {
				if step.spec == nil {
					continue
				}
				features, err := featureResults(step.spec.Features)
				if err != nil {
					return err
				}
				if err := step.record(ctx, step.spec.Detected, step.spec.Parameters, features...); err != nil {
					return err
				}
			}
			return nil
		}, driftmonitor.WithTags(run.Tags...))
		if err != nil {
			return err
		}
	}

	out := report{ExperimentID: experiment.GetId()}
	listed, err := client.ListDrifts(ctx, experiment.GetId(), "", "create_time")
	if err != nil {
		return err
	}
	for _, drift := range listed {
		out.Listed = append(out.Listed, protoJSON(drift))
	}
	complete := map[string]bool{}
	for len(complete) < len(s.Runs) {
		event, err, ok := nextEvent()
		if err != nil || !ok {
			return fmt.Errorf("watch ended: %v", err)
		}
		if event.GetType() == pb.DriftEventType_DRIFT_EVENT_TYPE_HEARTBEAT {
			continue
		}
		out.Watched = append(out.Watched, protoJSON(event))
		if event.GetDrift().GetStatus() == pb.DriftStatus_DRIFT_STATUS_COMPLETED {
			complete[event.GetDrift().GetId()] = true
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func featureResults(raw []json.RawMessage) ([]*pb.FeatureResult, error) {
	features := make([]*pb.FeatureResult, len(raw))
	for i, item := range raw {
		features[i] = &pb.FeatureResult{}
		if err := protojson.Unmarshal(item, features[i]); err != nil {
			return nil, fmt.Errorf("features[%d]: %w", i, err)
		}
	}
	return features, nil
}

func protoJSON(message proto.Message) json.RawMessage {
	encoded, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(message)
	if err != nil {
		panic(err) // our own messages always encode
	}
	return encoded
}
