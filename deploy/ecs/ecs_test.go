// Package ecs_test checks deploy/ecs/task-definition.json and service.json: the AWS CLI v2's own
// client-side parameter validation must accept them (and reject deliberately broken copies),
// and the worker-specific properties (stop timeout above the grace period, health check, logs,
// non-root, no surge during deploys, a valid worker config from the environment) must hold.
package ecs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshgate/meshgate/config"
)

// exampleVars fill the ${Name} placeholders of the JSON files for the semantic checks.
var exampleVars = map[string]string{
	"Partition":         "aws",
	"Region":            "eu-west-1",
	"AccountId":         "123456789012",
	"TaskRoleName":      "meshgate-task",
	"ExecutionRoleName": "meshgate-execution",
	"Image":             "123456789012.dkr.ecr.eu-west-1.amazonaws.com/meshgate-contracts:1.0.0",
	"Application":       "meshgate",
	"RawStreams":        "orders-raw,customers-raw",
	"LeaseTables":       "orders-raw=meshgate",
	"QuarantineBucket":  "acme-meshgate-quarantine",
	"QuarantinePrefix":  "quarantine",
	"HashSaltParameter": "meshgate/hash-salt",
	"Cluster":           "data-mesh",
	"SubnetIdA":         "subnet-0123456789abcdef0",
	"SubnetIdB":         "subnet-0123456789abcdef1",
	"SecurityGroupId":   "sg-0123456789abcdef0",
}

var placeholderRE = regexp.MustCompile(`\$\{([A-Za-z][A-Za-z0-9]*)\}`)

func render(t *testing.T, data []byte) []byte {
	t.Helper()
	out := placeholderRE.ReplaceAllFunc(data, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := exampleVars[name]
		if !ok {
			t.Fatalf("placeholder %s has no example value", m)
		}
		return []byte(v)
	})
	return out
}

func readJSON(t *testing.T, path string, v any) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return data
}

// --- the AWS CLI check -------------------------------------------------------------------

// awsCLI returns the AWS CLI v2 binary, skipping (or failing in CI) when it is missing.
func awsCLI(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("MESHGATE_AWS_CLI")
	if bin == "" {
		bin = "/usr/bin/aws" // Debian's awscli v2; an older v1 may be first on PATH.
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "aws-cli/2.") {
		msg := "AWS CLI v2 not found at " + bin + " (Debian: apt-get install awscli; or set MESHGATE_AWS_CLI)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v %s", msg, err, out)
		}
		t.Skip(msg)
	}
	return bin
}

type request struct {
	Target string
	Body   map[string]any
}

// fakeECS answers every ECS JSON call with 200 and records it. Nothing else listens: the CLI's
// client-side validation is what the tests exercise; the server proves whether a request left.
type fakeECS struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newFakeECS(t *testing.T) *fakeECS {
	f := &fakeECS{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var body map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			t.Errorf("request body is not JSON: %v: %s", err, data)
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, request{Target: r.Header.Get("X-Amz-Target"), Body: body})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, "{}")
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeECS) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// runCLI runs `aws ecs <op> --cli-input-json file://path` against the fake endpoint with dummy
// credentials and no user configuration, returning the exit code and combined output.
func runCLI(t *testing.T, bin, endpoint, op, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "ecs", op, "--cli-input-json", "file://"+path,
		"--endpoint-url", endpoint, "--region", "eu-west-1", "--output", "json")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1",
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("aws ecs %s timed out: %s", op, out)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run aws: %v", err)
		}
		code = ee.ExitCode()
	}
	return code, string(out)
}

// mutate returns a broken copy of doc written to a temp file.
func mutate(t *testing.T, doc map[string]any, change func(m map[string]any)) string {
	t.Helper()
	data, _ := json.Marshal(doc)
	var cp map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.Decode(&cp)
	change(cp)
	out, _ := json.MarshalIndent(cp, "", "  ")
	path := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func container(m map[string]any) map[string]any {
	return m["containerDefinitions"].([]any)[0].(map[string]any)
}

// The CLI's parameter-validation failure exit code (AWS CLI v2 return codes: 252).
const exitParamValidation = 252

func TestCLIValidation(t *testing.T) {
	bin := awsCLI(t)
	tests := []struct {
		file, op, target string
		broken           []struct {
			name   string
			change func(m map[string]any)
			want   string
		}
	}{
		{
			file: "task-definition.json", op: "register-task-definition",
			target: "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
			broken: []struct {
				name   string
				change func(m map[string]any)
				want   string
			}{
				{"stopTimeout as string", func(m map[string]any) { container(m)["stopTimeout"] = "40" },
					"Invalid type for parameter containerDefinitions[0].stopTimeout"},
				{"misspelt key", func(m map[string]any) {
					c := container(m)
					c["healthcheck"] = c["healthCheck"]
					delete(c, "healthCheck")
				}, `Unknown parameter in containerDefinitions[0]: "healthcheck"`},
				{"no family", func(m map[string]any) { delete(m, "family") },
					`Missing required parameter in input: "family"`},
			},
		},
		{
			file: "service.json", op: "create-service",
			target: "AmazonEC2ContainerServiceV20141113.CreateService",
			broken: []struct {
				name   string
				change func(m map[string]any)
				want   string
			}{
				{"desiredCount as string", func(m map[string]any) { m["desiredCount"] = "2" },
					"Invalid type for parameter desiredCount"},
				{"misspelt deployment key", func(m map[string]any) {
					dc := m["deploymentConfiguration"].(map[string]any)
					dc["maxPercent"] = dc["maximumPercent"]
					delete(dc, "maximumPercent")
				}, `Unknown parameter in deploymentConfiguration: "maxPercent"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var doc map[string]any
			readJSON(t, tt.file, &doc)
			abs, _ := filepath.Abs(tt.file)

			srv := newFakeECS(t)
			code, out := runCLI(t, bin, srv.URL, tt.op, abs)
			if code != 0 {
				t.Fatalf("aws ecs %s rejected %s (exit %d):\n%s", tt.op, tt.file, code, out)
			}
			reqs := srv.requests()
			if len(reqs) != 1 || reqs[0].Target != tt.target {
				t.Fatalf("requests %+v, want one %s", reqs, tt.target)
			}
			if !reflect.DeepEqual(reqs[0].Body, doc) {
				t.Errorf("the CLI sent a different document than the file:\nsent %v\nfile %v", reqs[0].Body, doc)
			}

			for _, b := range tt.broken {
				t.Run(b.name, func(t *testing.T) {
					srv := newFakeECS(t)
					code, out := runCLI(t, bin, srv.URL, tt.op, mutate(t, doc, b.change))
					if code != exitParamValidation || !strings.Contains(out, b.want) {
						t.Errorf("broken copy: exit %d, output:\n%s\nwant exit %d with %q", code, out, exitParamValidation, b.want)
					}
					if n := len(srv.requests()); n != 0 {
						t.Errorf("a broken document reached the endpoint (%d requests)", n)
					}
				})
			}
		})
	}
}

// --- worker-specific properties -----------------------------------------------------------

type taskDef struct {
	Family                  string   `json:"family"`
	TaskRoleArn             string   `json:"taskRoleArn"`
	ExecutionRoleArn        string   `json:"executionRoleArn"`
	NetworkMode             string   `json:"networkMode"`
	RequiresCompatibilities []string `json:"requiresCompatibilities"`
	ContainerDefinitions    []struct {
		Name                   string              `json:"name"`
		Image                  string              `json:"image"`
		Essential              bool                `json:"essential"`
		Command                []string            `json:"command"`
		User                   string              `json:"user"`
		ReadonlyRootFilesystem bool                `json:"readonlyRootFilesystem"`
		Environment            []map[string]string `json:"environment"`
		Secrets                []map[string]string `json:"secrets"`
		PortMappings           []struct {
			ContainerPort int `json:"containerPort"`
		} `json:"portMappings"`
		LinuxParameters struct {
			Capabilities struct {
				Add  []string `json:"add"`
				Drop []string `json:"drop"`
			} `json:"capabilities"`
		} `json:"linuxParameters"`
		HealthCheck struct {
			Command []string `json:"command"`
		} `json:"healthCheck"`
		StopTimeout      int `json:"stopTimeout"`
		LogConfiguration struct {
			LogDriver string            `json:"logDriver"`
			Options   map[string]string `json:"options"`
		} `json:"logConfiguration"`
	} `json:"containerDefinitions"`
}

func parseTaskDef(data []byte) (taskDef, error) {
	var td taskDef
	if err := json.Unmarshal(data, &td); err != nil {
		return td, err
	}
	if len(td.ContainerDefinitions) != 1 {
		return td, fmt.Errorf("%d containers, want the one worker container", len(td.ContainerDefinitions))
	}
	return td, nil
}

// taskDefProblems lists every worker-specific property the (rendered) task definition breaks.
func taskDefProblems(data []byte) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	td, err := parseTaskDef(data)
	if err != nil {
		return []string{err.Error()}
	}
	c := td.ContainerDefinitions[0]
	env := map[string]string{}
	for _, e := range c.Environment {
		env[e["name"]] = e["value"]
	}

	// The worker config comes from the environment only: it must be a valid config.
	cfg, err := config.Parse("", nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return append(problems, fmt.Sprintf("the environment is not a valid worker config: %v", err))
	}
	if cfg.Contracts != "/contracts" {
		add("contracts %q: the contracts image puts them at /contracts", cfg.Contracts)
	}

	grace := cfg.ShutdownGrace.D()
	stop := time.Duration(c.StopTimeout) * time.Second
	if stop <= grace {
		add("stopTimeout %s must exceed the worker's shutdownGrace %s", stop, grace)
	}
	if c.StopTimeout > 120 {
		add("stopTimeout %d: ECS allows at most 120 s", c.StopTimeout)
	}

	hc := c.HealthCheck.Command
	if len(hc) < 3 || hc[0] != "CMD" || hc[1] != "/meshgate" || hc[2] != "health" {
		add("health check %q: the image has no shell; use [CMD, /meshgate, health, ...]", hc)
	}
	listenPort := cfg.HTTP.Listen[strings.LastIndex(cfg.HTTP.Listen, ":")+1:]
	if !strings.Contains(strings.Join(hc, " "), "http://127.0.0.1:"+listenPort+"/healthz") {
		add("health check %q does not probe /healthz on the listen port %s", hc, listenPort)
	}
	if len(c.PortMappings) != 1 || strconv.Itoa(c.PortMappings[0].ContainerPort) != listenPort {
		add("port mappings %+v do not expose the listen port %s", c.PortMappings, listenPort)
	}
	if !strings.HasPrefix(cfg.HTTP.Listen, "0.0.0.0:") {
		add("listen %q: scrapers outside the task cannot reach it", cfg.HTTP.Listen)
	}
	lc := c.LogConfiguration
	if lc.LogDriver != "awslogs" || lc.Options["awslogs-group"] == "" || lc.Options["awslogs-region"] == "" || lc.Options["awslogs-stream-prefix"] == "" {
		add("logs %+v: want awslogs with group, region and stream prefix", lc)
	}
	if !strings.Contains(td.TaskRoleArn, ":role/") || td.TaskRoleArn == td.ExecutionRoleArn {
		add("taskRoleArn %q: the worker needs its own task role", td.TaskRoleArn)
	}
	if !reflect.DeepEqual(td.RequiresCompatibilities, []string{"FARGATE"}) || td.NetworkMode != "awsvpc" {
		add("want a Fargate task with awsvpc networking, got %v %s", td.RequiresCompatibilities, td.NetworkMode)
	}
	if c.User == "" || c.User == "0" || strings.HasPrefix(c.User, "0:") || c.User == "root" {
		add("user %q: run as the image's non-root user", c.User)
	}
	if !c.ReadonlyRootFilesystem {
		add("readonlyRootFilesystem must be true")
	}
	if caps := c.LinuxParameters.Capabilities; !reflect.DeepEqual(caps.Drop, []string{"ALL"}) || len(caps.Add) > 0 {
		add("capabilities %+v: want drop [ALL], add none", caps)
	}
	if !c.Essential {
		add("the worker container must be essential")
	}
	for _, s := range c.Secrets {
		if _, inEnv := env[s["name"]]; inEnv {
			add("%s is both a secret and a plain environment variable", s["name"])
		}
	}
	return problems
}

type service struct {
	TaskDefinition       string `json:"taskDefinition"`
	DesiredCount         int    `json:"desiredCount"`
	LaunchType           string `json:"launchType"`
	DeploymentController struct {
		Type string `json:"type"`
	} `json:"deploymentController"`
	DeploymentConfiguration struct {
		MinimumHealthyPercent    int `json:"minimumHealthyPercent"`
		MaximumPercent           int `json:"maximumPercent"`
		DeploymentCircuitBreaker struct {
			Enable   bool `json:"enable"`
			Rollback bool `json:"rollback"`
		} `json:"deploymentCircuitBreaker"`
	} `json:"deploymentConfiguration"`
	NetworkConfiguration struct {
		AwsvpcConfiguration struct {
			AssignPublicIP string `json:"assignPublicIp"`
		} `json:"awsvpcConfiguration"`
	} `json:"networkConfiguration"`
}

// serviceProblems lists what the (rendered) service definition gets wrong for KCL workers.
func serviceProblems(svcData, tdData []byte) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var svc service
	if err := json.Unmarshal(svcData, &svc); err != nil {
		return []string{err.Error()}
	}
	td, err := parseTaskDef(tdData)
	if err != nil {
		return []string{err.Error()}
	}
	if svc.TaskDefinition != td.Family {
		add("service runs task definition %q, the file registers family %q", svc.TaskDefinition, td.Family)
	}
	if svc.LaunchType != "FARGATE" || svc.DeploymentController.Type != "ECS" {
		add("want a Fargate service with the ECS rolling deployment controller")
	}
	dc := svc.DeploymentConfiguration
	// No surge: during a deploy there are never more workers than desiredCount competing for
	// leases (ECS rounds maximumPercent down).
	if maxTasks := int(math.Floor(float64(svc.DesiredCount*dc.MaximumPercent) / 100)); maxTasks > svc.DesiredCount {
		add("maximumPercent %d lets %d tasks run for a desired %d: surplus workers steal leases back and forth",
			dc.MaximumPercent, maxTasks, svc.DesiredCount)
	}
	// Progress: ECS rounds minimumHealthyPercent up; it must leave room to stop at least one
	// old task, or a deploy without surge can never start.
	if minTasks := int(math.Ceil(float64(svc.DesiredCount*dc.MinimumHealthyPercent) / 100)); minTasks >= svc.DesiredCount {
		add("minimumHealthyPercent %d keeps all %d tasks running: without surge the deploy cannot proceed",
			dc.MinimumHealthyPercent, svc.DesiredCount)
	}
	if !dc.DeploymentCircuitBreaker.Enable || !dc.DeploymentCircuitBreaker.Rollback {
		add("deployment circuit breaker must be enabled with rollback")
	}
	if svc.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIP != "DISABLED" {
		add("assignPublicIp must be DISABLED: the worker needs no public IP")
	}
	return problems
}

func readRendered(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return render(t, data)
}

// edit decodes a JSON document, applies change and encodes it again.
func edit(t *testing.T, data []byte, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setEnv(m map[string]any, name, value string) {
	for _, e := range container(m)["environment"].([]any) {
		if e.(map[string]any)["name"] == name {
			e.(map[string]any)["value"] = value
		}
	}
}

func TestTaskDefinitionProperties(t *testing.T) {
	good := readRendered(t, "task-definition.json")
	if p := taskDefProblems(good); len(p) > 0 {
		t.Fatalf("task-definition.json:\n%s", strings.Join(p, "\n"))
	}
	// Each broken copy must be caught, with the expected problem.
	tests := []struct {
		name   string
		change func(m map[string]any)
		want   string
	}{
		{"stop timeout at the grace", func(m map[string]any) { container(m)["stopTimeout"] = 25 }, "stopTimeout 25s must exceed the worker's shutdownGrace 25s"},
		{"grace raised above stop timeout", func(m map[string]any) { setEnv(m, "MESHGATE_SHUTDOWN_GRACE", "45s") }, "stopTimeout 40s must exceed the worker's shutdownGrace 45s"},
		{"stop timeout above ECS max", func(m map[string]any) { container(m)["stopTimeout"] = 121 }, "stopTimeout 121: ECS allows at most 120 s"},
		{"shell health check", func(m map[string]any) {
			container(m)["healthCheck"].(map[string]any)["command"] = []string{"CMD-SHELL", "curl -f http://127.0.0.1:9108/healthz"}
		}, "health check [\"CMD-SHELL\" \"curl -f http://127.0.0.1:9108/healthz\"]: the image has no shell"},
		{"listen moved", func(m map[string]any) { setEnv(m, "MESHGATE_LISTEN", "0.0.0.0:9200") }, "does not probe /healthz on the listen port 9200"},
		{"loopback listen", func(m map[string]any) { setEnv(m, "MESHGATE_LISTEN", "127.0.0.1:9108") }, "scrapers outside the task cannot reach it"},
		{"bad env config", func(m map[string]any) { setEnv(m, "MESHGATE_STREAMS", "") }, "the environment is not a valid worker config"},
		{"lease table of another stream", func(m map[string]any) { setEnv(m, "MESHGATE_LEASE_TABLES", "payments-raw=meshgate") },
			`env MESHGATE_LEASE_TABLES: stream "payments-raw" is not a configured source stream`},
		{"no task role", func(m map[string]any) { delete(m, "taskRoleArn") }, "the worker needs its own task role"},
		{"root", func(m map[string]any) { container(m)["user"] = "0" }, `user "0": run as the image's non-root user`},
		{"writable root", func(m map[string]any) { container(m)["readonlyRootFilesystem"] = false }, "readonlyRootFilesystem must be true"},
		{"capabilities kept", func(m map[string]any) { delete(container(m), "linuxParameters") }, "want drop [ALL], add none"},
		{"no awslogs", func(m map[string]any) { delete(container(m), "logConfiguration") }, "want awslogs"},
		{"EC2", func(m map[string]any) { m["requiresCompatibilities"] = []string{"EC2"} }, "want a Fargate task"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(taskDefProblems(edit(t, good, tt.change)), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tt.want)
			}
		})
	}
}

func TestServiceDeployment(t *testing.T) {
	td := readRendered(t, "task-definition.json")
	good := readRendered(t, "service.json")
	if p := serviceProblems(good, td); len(p) > 0 {
		t.Fatalf("service.json:\n%s", strings.Join(p, "\n"))
	}
	tests := []struct {
		name   string
		change func(m map[string]any)
		want   string
	}{
		{"surge", func(m map[string]any) { m["deploymentConfiguration"].(map[string]any)["maximumPercent"] = 200 }, "maximumPercent 200 lets 4 tasks run for a desired 2"},
		{"stuck", func(m map[string]any) { m["deploymentConfiguration"].(map[string]any)["minimumHealthyPercent"] = 100 }, "minimumHealthyPercent 100 keeps all 2 tasks running"},
		{"one task rounds up", func(m map[string]any) { m["desiredCount"] = 1 }, "minimumHealthyPercent 50 keeps all 1 tasks running"},
		{"no circuit breaker", func(m map[string]any) {
			delete(m["deploymentConfiguration"].(map[string]any), "deploymentCircuitBreaker")
		}, "circuit breaker"},
		{"other family", func(m map[string]any) { m["taskDefinition"] = "other" }, `service runs task definition "other"`},
		{"public ip", func(m map[string]any) {
			m["networkConfiguration"].(map[string]any)["awsvpcConfiguration"].(map[string]any)["assignPublicIp"] = "ENABLED"
		}, "assignPublicIp must be DISABLED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(serviceProblems(edit(t, good, tt.change), td), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tt.want)
			}
		})
	}
}
