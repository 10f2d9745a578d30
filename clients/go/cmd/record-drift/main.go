// Command record-drift records one drift run through the Drift Monitoring edge, the way a Go job would.
//
//	export DRIFT_MONITOR_URL=localhost:8443 DRIFT_MONITOR_CA_BUNDLE=$PWD/.run/certs/ca.pem   # from the repository root
//	export DRIFT_MONITOR_TOKEN=$(.venv/bin/python -m sandbox.issuer token manager)
//	(cd clients/go && go run ./cmd/record-drift -experiment go-example -create)
//
// It prints the stored drift as JSON.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"example.org/drift-monitoring/go/driftmonitor"
	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "record-drift:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("record-drift", flag.ContinueOnError)
	experiment := flags.String("experiment", "go-example", "experiment name")
	model := flags.String("model", "xgb-credit-v3", "model monitored")
	create := flags.Bool("create", false, "register and create the experiment when it does not exist")
	if err := flags.Parse(args); err != nil {
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

	if *create {
		if _, err := client.Register(ctx); err != nil {
			return err
		}
		if _, err := client.FindExperiment(ctx, *experiment); status.Code(err) == codes.NotFound {
			if _, err := client.CreateExperiment(ctx, *experiment, "runs recorded by clients/go/cmd/record-drift"); err != nil {
				return err
			}
		}
	}

	var drift *pb.Drift
	err = client.Run(ctx, *experiment, *model, func(run *driftmonitor.Run) error {
		// Stand-ins for a real detector's verdicts.
		if err := run.Concept(ctx, false, map[string]any{"p_value": 0.42, "window": 1000}); err != nil {
			return err
		}
		ks := &pb.FeatureResult{Feature: "income", Test: "ks", Statistic: 0.31, PValue: ptr(0.002), Threshold: ptr(0.05), Detected: true}
		if err := run.Data(ctx, true, map[string]any{"drifted_features": 1}, ks); err != nil {
			return err
		}
		drift = run.Drift()
		return nil
	}, driftmonitor.WithTags("example", "go"))
	if err != nil {
		return err
	}
	stored, err := client.Drifts.GetDrift(ctx, &pb.GetDriftRequest{ExperimentId: drift.GetExperimentId(), DriftId: drift.GetId()})
	if err != nil {
		return err
	}
	encoded, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(stored)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(encoded))
	return err
}

func ptr(v float64) *float64 { return &v }
