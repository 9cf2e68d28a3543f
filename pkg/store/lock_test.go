package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestLockInProcess(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(dir, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description, so a second Open in
	// the same process conflicts too.
	second, err := Open(dir, testOptions(t))
	if err == nil {
		_ = second.Close()
		t.Fatal("second Open of a locked dir succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v; want ErrLocked", err)
	}
	wantMsg := fmt.Sprintf("data dir %s is in use by another aroundme process", dir)
	if !strings.Contains(err.Error(), wantMsg) {
		t.Fatalf("error %q does not contain %q", err, wantMsg)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("error %q does not name the holder's pid", err)
	}
	mustSet(t, first, "k", []byte("v")) // the holder is unaffected

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third := openT(t, dir, testOptions(t)) // Close released the lock
	if v, _ := get(t, third, "k"); string(v) != "v" {
		t.Fatalf("k = %q", v)
	}
}

const helperEnv = "AROUNDME_STORE_TEST_HELPER_DIR"

// TestHelperProcess is not a real test: TestLockAcrossProcesses runs the test
// binary again with only this test selected and helperEnv set, so that a
// second process holds the data-dir lock.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestLockAcrossProcesses")
	}
	db, err := Open(dir, quiet)
	if err != nil {
		fmt.Printf("ERROR %v\n", err)
		os.Exit(2)
	}
	fmt.Println("LOCKED")
	// Hold the lock until the parent kills us (or closes stdin).
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = db.Close()
	os.Exit(0)
}

func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = stdin.Close()
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "LOCKED" {
		t.Fatalf("helper said %q, %v; want LOCKED", line, err)
	}

	_, err = Open(dir, testOptions(t))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process holds the dir = %v; want ErrLocked", err)
	}
	if want := "pid " + strconv.Itoa(cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the holder (%s)", err, want)
	}
	t.Logf("got the expected error: %v", err)

	// The kernel releases a flock when its holder dies, even by SIGKILL
	// (no Close ran): no stale lock after a crash.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	exited = true
	db := openT(t, dir, testOptions(t))
	mustSet(t, db, "k", []byte("v"))
}
