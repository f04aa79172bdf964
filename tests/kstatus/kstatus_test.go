// Package kstatus checks the status conventions of CustomDomain and Auth0Tenant against
// kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status, the library Flux's kustomize-controller
// and `kubectl`-style waiters use to decide whether an applied object is done): every fixture
// in testdata/ is an object the operator wrote (see testdata/README.md for where each came
// from), and the table below says which kstatus status it must compute to.
//
//	Ready=True for the current generation        -> Current
//	Reconciling=True (verifying, waiting on DNS) -> InProgress
//	Stalled=True (needs a person)                -> Failed
//	Ready=False without either                   -> InProgress
//	status.observedGeneration behind generation  -> InProgress
//	deletionTimestamp set                        -> Terminating
package kstatus

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type want struct {
	status status.Status
	// message must match (kstatus's message: the condition's message or its own words).
	message string
	// why this is the right answer for our conventions.
	why string
}

// Every file in testdata/*.json must be listed here (TestEveryFixtureIsChecked).
var cases = map[string]want{
	// --- CustomDomain
	"customdomain-ready.json": {status.CurrentStatus, `^Resource is Ready$`,
		"Ready=True for the current generation, no Reconciling/Stalled: done"},
	"customdomain-awaiting-dns.json": {status.InProgressStatus, `(?i)dns|record`,
		"Reconciling=True AwaitingDns while the verification record is not yet in DNS"},
	"customdomain-verifying.json": {status.InProgressStatus, `.+`,
		"Reconciling=True while Auth0 verifies the domain (DNS seen, not verified yet)"},
	"customdomain-entitlement-exceeded.json": {status.FailedStatus, `(?i)maximum number of custom domains`,
		"Stalled=True EntitlementExceeded: the tenant's plan allows no more domains; a person must act"},
	"customdomain-plan-refused.json": {status.FailedStatus, `.+`,
		"Stalled=True PlanRefused: the tenant's plan has no custom domains"},
	"customdomain-cname-api-key-lost.json": {status.FailedStatus, `(?i)key`,
		"Stalled=True CnameApiKeyLost: the edge proxy's key is gone and only a person can put it back"},
	"customdomain-generation-behind.json": {status.InProgressStatus, `generation is 2, but latest observed generation is 1`,
		"a spec edit the operator has not seen yet: Ready=True of the old generation must not count"},
	"customdomain-deleting.json": {status.TerminatingStatus, `deletion`,
		"deleted, the finalizer still removing the domain from Auth0"},
	// kstatus reads an object without any status as done (no generation to compare, no
	// condition): a CustomDomain in the moment between create and the operator's first status
	// write is Current. A known property of kstatus, not of the operator; recorded so that a
	// change in either shows up here.
	"customdomain-no-status.json": {status.CurrentStatus, `^Resource is current$`,
		"no status yet: kstatus cannot tell it from an object without status conventions"},

	// --- Auth0Tenant: Ready, plus Stalled for failures only a person can end and Reconciling
	// for those that pass by themselves.
	"auth0tenant-ready.json": {status.CurrentStatus, `^Resource is Ready$`,
		"Ready=True TenantReady: credentials work, the API answers"},
	"auth0tenant-plan-refused.json": {status.FailedStatus, `plan does not include custom domains`,
		"Ready=False + Stalled=True PlanRefused: Failed, a person must change the plan"},
	"auth0tenant-auth0-unreachable.json": {status.InProgressStatus, `.+`,
		"Ready=False + Reconciling=True Auth0Unreachable (the e2e world's simulator had stopped): InProgress, retried"},
	"auth0tenant-no-status.json": {status.CurrentStatus, `^Resource is current$`,
		"no status yet (as customdomain-no-status.json)"},
}

func load(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	// As a client decodes it from the API server (integers as int64, which kstatus requires).
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return u
}

func TestFixturesComputeToTheirStatus(t *testing.T) {
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		w := cases[name]
		t.Run(name, func(t *testing.T) {
			u := load(t, name)
			res, err := status.Compute(u)
			if err != nil {
				t.Fatalf("status.Compute: %v", err)
			}
			if res.Status != w.status {
				t.Errorf("%s %s: kstatus %s (%q), want %s: %s", u.GetKind(), u.GetName(), res.Status, res.Message, w.status, w.why)
			}
			if !regexp.MustCompile(w.message).MatchString(res.Message) {
				t.Errorf("%s: message %q does not match %q", name, res.Message, w.message)
			}
			t.Logf("%s %s/%s: %s: %s", u.GetKind(), u.GetNamespace(), u.GetName(), res.Status, res.Message)
		})
	}
}

// The conventions hold for the conditions themselves, not only for the fixtures' outcomes:
// Stalled and Reconciling are never both True, and Ready=True never comes with either.
func TestConditionsAreConsistent(t *testing.T) {
	for name := range cases {
		u := load(t, name)
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		got := map[string]string{}
		for _, c := range conds {
			m := c.(map[string]any)
			got[m["type"].(string)] = m["status"].(string)
			if m["reason"] == nil || m["reason"] == "" {
				t.Errorf("%s: condition %v has no reason", name, m["type"])
			}
		}
		if got["Stalled"] == "True" && got["Reconciling"] == "True" {
			t.Errorf("%s: Stalled and Reconciling both True", name)
		}
		if got["Ready"] == "True" && (got["Stalled"] == "True" || got["Reconciling"] == "True") {
			t.Errorf("%s: Ready=True with Stalled or Reconciling", name)
		}
	}
}

// kstatus's Augment adds the standard conditions it computed; for a Failed object that is
// Stalled (what Flux shows), for an InProgress one Reconciling.
func TestAugmentAgrees(t *testing.T) {
	for name, w := range cases {
		u := load(t, name)
		if err := status.Augment(u); err != nil {
			t.Fatalf("%s: Augment: %v", name, err)
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		has := func(typ string) bool {
			for _, c := range conds {
				m := c.(map[string]any)
				if m["type"] == typ && m["status"] == "True" {
					return true
				}
			}
			return false
		}
		switch w.status {
		case status.FailedStatus:
			if !has("Stalled") {
				t.Errorf("%s: Failed without Stalled=True after Augment", name)
			}
		case status.InProgressStatus:
			if !has("Reconciling") {
				t.Errorf("%s: InProgress without Reconciling=True after Augment", name)
			}
		}
	}
}

func TestEveryFixtureIsChecked(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/")
	}
	for _, f := range files {
		if _, ok := cases[filepath.Base(f)]; !ok {
			t.Errorf("%s has no expected status in kstatus_test.go", f)
		}
	}
	for name := range cases {
		if _, err := os.Stat(filepath.Join("testdata", name)); err != nil {
			t.Errorf("case %s: %v", name, err)
		}
	}
}
