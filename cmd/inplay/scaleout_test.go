package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestScaleOutManifests: the Kubernetes manifests in docs/scale-out parse,
// and every inplay command in them is one the CLI accepts (its flags parse
// and its arguments fit), with JOB_COMPLETION_INDEX as Kubernetes sets it.
func TestScaleOutManifests(t *testing.T) {
	var commands [][]string
	for _, name := range []string{"shards.yaml", "merge.yaml", "services.yaml"} {
		data, err := os.ReadFile("../../docs/scale-out/" + name)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		docs := 0
		for {
			var doc struct {
				Kind string `yaml:"kind"`
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct {
								Command []string `yaml:"command"`
								Args    []string `yaml:"args"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			}
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			docs++
			if doc.Kind == "" {
				t.Fatalf("%s: document %d has no kind", name, docs)
			}
			if doc.Kind != "Job" {
				continue
			}
			for _, c := range doc.Spec.Template.Spec.Containers {
				line := strings.Join(append(c.Command, c.Args...), " ")
				if len(c.Command) == 2 && c.Command[0] == "sh" && c.Command[1] == "-c" {
					line, _, _ = strings.Cut(strings.Join(c.Args, " "), "||")
				}
				line = strings.ReplaceAll(line, "${JOB_COMPLETION_INDEX}", "2")
				line = strings.ReplaceAll(line, `"`, "")
				commands = append(commands, strings.Fields(line))
			}
		}
	}
	if len(commands) != 2 {
		t.Fatalf("found %d inplay commands in the manifests, want the shard's and the merge's: %q", len(commands), commands)
	}
	for _, argv := range commands {
		if argv[0] != "inplay" {
			t.Fatalf("command %q does not run inplay", argv)
		}
		root := newRoot(io.Discard, io.Discard)
		cmd, args, err := root.Find(argv[1:])
		if err != nil || cmd == root {
			t.Fatalf("%q: not an inplay command: %v", argv, err)
		}
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatalf("%q: %v", argv, err)
		}
		if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
			t.Fatalf("%q: %v", argv, err)
		}
		if s := cmd.Flags().Lookup("shard"); s != nil && s.Changed {
			if sh, err := parseShard(s.Value.String()); err != nil || sh.Index != 2 || sh.Count != 3 {
				t.Fatalf("%q: --shard is %+v, %v", argv, sh, err)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"3/3", "-1/3", "1", "a/b", "0/0", "1/"} {
		if _, err := parseShard(bad); err == nil {
			t.Errorf("--shard %q was accepted", bad)
		}
	}
	if s, err := parseShard("1/4"); err != nil || s.Index != 1 || s.Count != 4 {
		t.Errorf("--shard 1/4 = %+v, %v", s, err)
	}
}
