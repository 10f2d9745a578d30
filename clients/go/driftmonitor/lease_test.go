package driftmonitor_test

import (
	"context"
	"testing"
	"time"

	"example.org/drift-monitoring/go/driftmonitor"
	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

// A run that records nothing for several leases stays RUNNING because Run renews its lease.
func TestRunRenewsItsLease(t *testing.T) {
	config := stackConfig(t)
	config.Heartbeat = 400 * time.Millisecond // a 1.2 s lease
	client := dial(t, config)
	experiment := newExperiment(t, client)
	var id string
	err := client.Run(context.Background(), experiment.GetName(), "go-quiet-job", func(run *driftmonitor.Run) error {
		id = run.Drift().GetId()
		first := getDrift(t, client, experiment.GetId(), id)
		if got := first.GetLeaseDuration().AsDuration(); got != 1200*time.Millisecond {
			t.Errorf("lease_duration %v, want 1.2s", got)
		}
		time.Sleep(2 * time.Second) // over a lease and a half of silence
		later := getDrift(t, client, experiment.GetId(), id)
		renewed := later.GetLeaseExpireTime().AsTime().Sub(first.GetLeaseExpireTime().AsTime())
		if later.GetStatus() != pb.DriftStatus_DRIFT_STATUS_RUNNING || renewed < time.Second {
			t.Errorf("after 2 s: status %v, lease moved %v (want RUNNING, renewed by over 1 s)", later.GetStatus(), renewed)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	done := getDrift(t, client, experiment.GetId(), id)
	if done.GetStatus() != pb.DriftStatus_DRIFT_STATUS_COMPLETED || done.GetLeaseExpireTime() != nil {
		t.Errorf("finished: status %v, lease_expire_time %v (want COMPLETED, none)", done.GetStatus(), done.GetLeaseExpireTime())
	}
}

func TestRunWithoutHeartbeatHasNoLease(t *testing.T) {
	config := stackConfig(t)
	config.Heartbeat = -1
	client := dial(t, config)
	experiment := newExperiment(t, client)
	err := client.Run(context.Background(), experiment.GetName(), "go-no-lease", func(run *driftmonitor.Run) error {
		if drift := getDrift(t, client, experiment.GetId(), run.Drift().GetId()); drift.GetLeaseDuration() != nil {
			t.Errorf("lease_duration %v, want none", drift.GetLeaseDuration())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConfigFromEnvHeartbeat(t *testing.T) {
	t.Setenv("DRIFT_MONITOR_MYTOKEN", "")
	t.Setenv("DRIFT_MONITOR_URL", "drift.example.org:443")
	for raw, want := range map[string]time.Duration{"": 0, "12.5": 12500 * time.Millisecond, "0": -1} {
		t.Setenv("DRIFT_MONITOR_HEARTBEAT", raw)
		if config, err := driftmonitor.ConfigFromEnv(); err != nil || config.Heartbeat != want {
			t.Errorf("DRIFT_MONITOR_HEARTBEAT=%q: heartbeat %v, err %v; want %v", raw, config.Heartbeat, err, want)
		}
	}
	for _, bad := range []string{"-1", "0.1", "often"} {
		t.Setenv("DRIFT_MONITOR_HEARTBEAT", bad)
		if _, err := driftmonitor.ConfigFromEnv(); err == nil {
			t.Errorf("DRIFT_MONITOR_HEARTBEAT=%q: want an error", bad)
		}
	}
}
