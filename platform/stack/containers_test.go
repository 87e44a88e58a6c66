package stack

import (
	"context"
	"testing"
	"time"
)

// TestContainers runs step 3 for real where a Docker engine answers, and
// skips where none does. It starts the containers directly, since Resolve
// would find the local services first on a machine that has them.
func TestContainers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := dockerAnswers(ctx); err != nil {
		t.Skipf("no Docker engine answers: %v", err)
	}
	s := &Services{Source: SourceTestcontainers}
	defer func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	for _, svc := range []struct {
		name  string
		url   *string
		check func(context.Context, string) error
	}{
		{"Redis", &s.RedisURL, CheckRedis},
		{"PostgreSQL", &s.PostgresURL, CheckPostgres},
	} {
		url, terminate, err := startContainer(ctx, svc.name)
		if terminate != nil {
			s.terminate = append(s.terminate, terminate)
		}
		if err != nil {
			t.Fatalf("start %s: %v", svc.name, err)
		}
		if err := svc.check(ctx, url); err != nil {
			t.Fatalf("%s container at %s does not answer: %v", svc.name, url, err)
		}
		*svc.url = url
	}
	r, err := s.Provision(ctx, runID(t))
	if err != nil {
		t.Fatalf("Provision on containers: %v", err)
	}
	if err := r.Teardown(ctx); err != nil {
		t.Fatalf("Teardown on containers: %v", err)
	}
	if databaseExists(t, s.PostgresURL, r.DatabaseName) {
		t.Errorf("database %s still exists", r.DatabaseName)
	}
}

func TestDockerCheckDoesNotHang(t *testing.T) {
	// Whatever the machine has, the check answers within its own bound
	// instead of panicking or waiting on the library's defaults.
	began := time.Now()
	err := dockerAnswers(context.Background())
	if took := time.Since(began); took > dockerTimeout+5*time.Second {
		t.Errorf("dockerAnswers took %s (err %v)", took, err)
	}
	t.Logf("docker: %v", err)
}
