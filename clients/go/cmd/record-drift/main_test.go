package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// The example as a user runs it, against the stack that tests/clients/test_go.py starts.
func TestRecordsADriftThroughTheEdge(t *testing.T) {
	if os.Getenv("DRIFT_MONITOR_URL") == "" {
		t.Skip("needs the stack: run through tests/clients/test_go.py")
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	args := []string{"-experiment", "go-example-" + hex.EncodeToString(suffix[:]), "-create"}
	for attempt := range 2 { // the second run finds the experiment the first created
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err != nil {
			t.Fatalf("run %d: %v", attempt, err)
		}
		var drift map[string]any
		if err := json.Unmarshal(out.Bytes(), &drift); err != nil {
			t.Fatalf("output %q: %v", out.String(), err)
		}
		if drift["status"] != "DRIFT_STATUS_COMPLETED" || drift["data_drift"].(map[string]any)["detected"] != true {
			t.Errorf("run %d stored %v", attempt, drift)
		}
	}
}
