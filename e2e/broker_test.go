//go:build brokerfault

// The broker fault test stops the machine's RabbitMQ node for a while, which
// would break every other test that uses the broker at the same time. It
// runs alone: make test runs it after the other tests, with
//
//	go test -tags brokerfault -run TestBrokerRestart ./e2e/

package e2e

import (
	"os/exec"
	"testing"
	"time"

	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/wbsim"
	"obmenhub/retry"
)

func rabbitmqctl(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
	}
}

// TestBrokerRestartMidStream stops the RabbitMQ application while 1C keeps
// sending packages and starts it again: the hub must accept the packages
// meanwhile and the marketplaces must end with the last package's numbers,
// never receiving an older value after a newer one.
func TestBrokerRestartMidStream(t *testing.T) {
	be := productionBackend(t)
	clock := retry.NewScaledClock(timeScale)
	ozon := ozonsim.NewTest(t, ozonsim.Config{ClientID: "e2e-client", APIKey: "e2e-ozon-key", Clock: clock, Logger: testLog()})
	wb := wbsim.NewTest(t, wbsim.Config{Token: "e2e-wb-token", Clock: clock, Logger: testLog()})
	skus := crashSKUs(2000)
	dir := t.TempDir()
	p := startProcess(t, "hub", processConfig(t, be, dir, "broker", ozon.URL, wb.URL, skus), append(processEnv, be.env...)...)
	// Whatever happens, leave the broker running for the next test.
	t.Cleanup(func() { exec.Command("rabbitmqctl", "start_app").Run() })

	const rounds = 6
	for round := 1; round <= rounds; round++ {
		if round == 3 {
			rabbitmqctl(t, "stop_app")
			t.Log("broker stopped")
		}
		postUntilAccepted(t, p.exchangeURL, roundPackage(t, dir, round, skus))
		if round == 4 {
			time.Sleep(500 * time.Millisecond)
			rabbitmqctl(t, "start_app")
			rabbitmqctl(t, "await_startup")
			t.Log("broker started")
		}
	}

	want := finalWant(skus, rounds)
	h := &harness{t: t, ozon: ozon, wb: wb}
	h.waitFor("Ozon", want, h.ozonStock)
	h.waitFor("Wildberries", want, h.wbStock(chrtIndex(skus)))
	checkMonotonic(t, "Ozon", ozonHistories(ozon))
	checkMonotonic(t, "Wildberries", wbHistories(wb))
	h.checkClean()
	if t.Failed() {
		t.Logf("hub log:\n%s", p.logs())
	}
}
