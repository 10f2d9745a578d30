package driftmonitor_test

import (
	"context"
	"fmt"
	"log"

	"example.org/drift-monitoring/go/driftmonitor"
	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

// A job records its drift results: the run is RUNNING while the function works, then COMPLETED, or
// FAILED with the error the function returns.
func ExampleClient_Run() {
	config, err := driftmonitor.ConfigFromEnv() // DRIFT_MONITOR_URL, DRIFT_MONITOR_TOKEN, ...
	if err != nil {
		log.Fatal(err)
	}
	client, err := driftmonitor.Dial(config)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx := context.Background()
	err = client.Run(ctx, "credit-scoring", "xgb-credit-v3", func(run *driftmonitor.Run) error {
		pValue := 0.002
		if err := run.Concept(ctx, false, map[string]any{"p_value": 0.42}); err != nil {
			return err
		}
		return run.Data(ctx, true, map[string]any{"drifted_features": 1},
			&pb.FeatureResult{Feature: "income", Test: "ks", Statistic: 0.31, PValue: &pValue, Detected: true})
	}, driftmonitor.WithTags("weekly"))
	if err != nil {
		log.Fatal(err)
	}
}

// Watching an experiment: the loop reconnects by itself after a dropped connection.
func ExampleClient_Watch() {
	config, _ := driftmonitor.ConfigFromEnv()
	client, _ := driftmonitor.Dial(config)
	defer client.Close()

	for event, err := range client.Watch(context.Background(), "EXPERIMENT_ID", "") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(event.GetType(), event.GetDrift().GetId(), event.GetDrift().GetStatus())
	}
}
