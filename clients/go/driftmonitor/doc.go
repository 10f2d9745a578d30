// Package driftmonitor is a small Go client for the Drift Monitoring API.
//
// It dials the edge (Envoy) over TLS, trusting a private CA when one is configured, sends a bearer token
// from a TokenSource with every call, and offers Run, the Go counterpart of Python's DriftMonitor:
//
//	client, err := driftmonitor.Dial(driftmonitor.ConfigFromEnv())
//	...
//	defer client.Close()
//	err = client.Run(ctx, "credit-scoring", "xgb-credit-v3", func(run *driftmonitor.Run) error {
//		detected, parameters := conceptDetector()
//		return run.Concept(ctx, detected, parameters)
//	})
//
// Run creates the drift (RUNNING) before calling the function, sends each result as it is recorded, and
// completes the drift when the function returns nil, or marks it FAILED with the error's message (and
// returns that error). Unlike the Python client it keeps no offline spool: an unreachable server is an
// error the caller sees.
//
// The generated stubs are in package driftmonitoringv1; Client exposes them for every other RPC.
package driftmonitor
