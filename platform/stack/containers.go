package stack

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

// dockerTimeout bounds the Docker check: without an engine, the run must
// learn it in seconds, not hang.
const dockerTimeout = 3 * time.Second

// dockerAnswers reports whether a Docker engine answers a ping. It runs
// before any container is asked for, because testcontainers panics or
// waits long when there is no engine; a panic here becomes an error.
func dockerAnswers(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dockerTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("docker client panicked: %v", r)
			}
		}()
		cli, err := testcontainers.NewDockerClientWithOpts(ctx)
		if err != nil {
			if host := os.Getenv("DOCKER_HOST"); host != "" {
				err = fmt.Errorf("DOCKER_HOST=%s: %w", host, err)
			}
			done <- err
			return
		}
		defer cli.Close()
		_, err = cli.Ping(ctx, client.PingOptions{})
		done <- err
	}()
	// The goroutine may ignore ctx inside the library; the caller does not
	// wait past the timeout for it.
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", dockerTimeout)
	}
}

// startContainer starts the container for service ("Redis" or
// "PostgreSQL") and returns its URL and how to stop it. terminate is set
// whenever a container exists, even if it failed to become ready.
func startContainer(ctx context.Context, service string) (url string, terminate func(context.Context) error, err error) {
	var ctr testcontainers.Container
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("testcontainers panicked: %v", r)
		}
		if ctr != nil {
			terminate = func(context.Context) error { return testcontainers.TerminateContainer(ctr) }
		}
	}()
	switch service {
	case "Redis":
		c, err := tcredis.Run(ctx, RedisImage)
		if c != nil {
			ctr = c
		}
		if err != nil {
			return "", nil, err
		}
		url, err := c.ConnectionString(ctx)
		return url + "/0", nil, err
	case "PostgreSQL":
		c, err := tcpostgres.Run(ctx, PostgresImage,
			tcpostgres.WithDatabase("postgres"),
			tcpostgres.WithUsername("postgres"),
			tcpostgres.WithPassword("inplay"),
			tcpostgres.BasicWaitStrategies(),
		)
		if c != nil {
			ctr = c
		}
		if err != nil {
			return "", nil, err
		}
		url, err := c.ConnectionString(ctx, "sslmode=disable")
		return url, nil, err
	}
	return "", nil, fmt.Errorf("no container for %s", service)
}
