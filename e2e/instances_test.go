package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/wbsim"
	"obmenhub/retry"
)

// switches counts how often the agent changes along a request log.
func switches(agents []string) int {
	n := 0
	for i := 1; i < len(agents); i++ {
		if agents[i] != agents[i-1] {
			n++
		}
	}
	return n
}

// TestTwoInstancesShareChannels runs two hub processes against one
// RabbitMQ and one PostgreSQL and posts packages to both. Each channel
// must be pushed by one instance at a time: the request log of each
// marketplace may switch instance only when the leader is killed. No
// marketplace may see its rate limit exceeded.
func TestTwoInstancesShareChannels(t *testing.T) {
	be := productionBackend(t)
	clock := retry.NewScaledClock(timeScale)
	ozon := ozonsim.NewTest(t, ozonsim.Config{ClientID: "e2e-client", APIKey: "e2e-ozon-key", Clock: clock, Logger: testLog()})
	wb := wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: clock, Logger: testLog()})
	skus := crashSKUs(2000)
	dir := t.TempDir()
	env := append(processEnv, be.env...)
	first := startProcess(t, "hub-a", processConfig(t, be, dir, "hub-a", ozon.URL, wb.URL, skus), env...)
	second := startProcess(t, "hub-b", processConfig(t, be, dir, "hub-b", ozon.URL, wb.URL, skus), env...)

	const rounds = 6
	for round := 1; round <= rounds; round++ {
		target := first
		if round%2 == 0 || round > rounds/2 {
			target = second
		}
		postUntilAccepted(t, target.exchangeURL, roundPackage(t, dir, round, skus))
		if round == rounds/2 {
			// Let the leaders push, then kill one instance: if it led a
			// channel, the other takes the channel over.
			time.Sleep(300 * time.Millisecond)
			first.kill()
		}
	}

	want := finalWant(skus, rounds)
	h := &harness{t: t, ozon: ozon, wb: wb}
	h.waitFor("Ozon", want, h.ozonStock)
	h.waitFor("Wildberries", want, h.wbStock(chrtIndex(skus)))
	checkMonotonic(t, "Ozon", ozonHistories(ozon))
	checkMonotonic(t, "Wildberries", wbHistories(wb))
	h.checkClean()

	for name, agents := range map[string][]string{"Ozon": ozon.Agents(), "Wildberries": wb.Agents()} {
		if n := switches(agents); n > 1 {
			t.Errorf("%s was pushed by both instances in turn (%d switches): %s", name, n, summarize(agents))
		}
		t.Logf("%s: %d requests, %d switches of instance", name, len(agents), switches(agents))
	}
}

// summarize shortens a request log to runs of one agent.
func summarize(agents []string) string {
	var runs []string
	for i := 0; i < len(agents); {
		j := i
		for j < len(agents) && agents[j] == agents[i] {
			j++
		}
		runs = append(runs, fmt.Sprintf("%s×%d", agents[i], j-i))
		i = j
	}
	return strings.Join(runs, ", ")
}
