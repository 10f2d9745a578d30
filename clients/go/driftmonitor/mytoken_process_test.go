package driftmonitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"example.org/drift-monitoring/go/driftmonitor"
)

// rotationEnv makes the test binary a MyToken client process instead of running tests: it asks for an
// access token that many times, from one MyToken source given DRIFT_MONITOR_MYTOKEN, MYTOKEN_SERVER (plain
// HTTP) and DRIFT_MONITOR_STATE_DIR, and exits non-zero at the first failure. The multi-process tests
// here and in tests/clients/test_mytoken_processes.py start it.
const rotationEnv = "DRIFT_MONITOR_TEST_MYTOKEN_ROUNDS"

func TestMain(m *testing.M) {
	if rounds := os.Getenv(rotationEnv); rounds != "" {
		os.Exit(rotate(rounds))
	}
	os.Exit(m.Run())
}

func rotate(rounds string) int {
	count, err := strconv.Atoi(rounds)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	source := driftmonitor.NewMyToken(os.Getenv("DRIFT_MONITOR_MYTOKEN"), os.Getenv("MYTOKEN_SERVER"), os.Getenv("DRIFT_MONITOR_STATE_DIR"), nil)
	for round := range count {
		if _, err := source.Token(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "round %d: %v\n", round, err)
			return 1
		}
	}
	return 0
}

func TestMyTokenRotationAcrossProcesses(t *testing.T) {
	server := startMyTokenServer(t, "mt-0", false)
	server.expiresIn = 30 // inside the refresh margin: every call exchanges, and rotates
	state := t.TempDir()
	const processes, rounds = 4, 15
	var wg sync.WaitGroup
	failures := make(chan string, processes)
	for range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			command := exec.Command(os.Args[0])
			command.Env = append(os.Environ(), rotationEnv+"="+strconv.Itoa(rounds), "DRIFT_MONITOR_MYTOKEN=mt-0",
				"MYTOKEN_SERVER="+server.URL, "DRIFT_MONITOR_STATE_DIR="+state)
			if output, err := command.CombinedOutput(); err != nil {
				failures <- fmt.Sprintf("%v: %s", err, output)
			}
		}()
	}
	wg.Wait()
	close(failures)
	for failure := range failures {
		t.Error(failure)
	}
	var saved struct {
		MyToken string `json:"mytoken"`
	}
	data, err := os.ReadFile(filepath.Join(state, "mytokens", storeName("mt-0")))
	if err != nil || json.Unmarshal(data, &saved) != nil {
		t.Errorf("state file: %q, %v", data, err)
	}
	server.mu.Lock()
	defer server.mu.Unlock()
	if server.exchanges != processes*rounds || saved.MyToken != server.current {
		t.Errorf("%d exchanges, want %d; saved mytoken %q, the server's %q", server.exchanges, processes*rounds, saved.MyToken, server.current)
	}
}
