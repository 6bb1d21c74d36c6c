# obmenhub: two commands set everything up on a fresh machine.
#   make run   starts the hub on the embedded defaults (configs/demo.yaml)
#   make test  runs all tests

GO ?= go

# Demo credentials for the built-in simulators and the demo 1C login.
# They protect nothing; production secrets come from the environment.
DEMO_ENV = OBMENHUB_EXCHANGE_PASSWORD=$${OBMENHUB_EXCHANGE_PASSWORD:-demo} \
	OZON_API_KEY=$${OZON_API_KEY:-demo-ozon-key} \
	WB_TOKEN=$${WB_TOKEN:-demo-wb-token}

.PHONY: run test bench lint build

run:
	@mkdir -p var
	$(DEMO_ENV) $(GO) run ./cmd/hub -config configs/demo.yaml

build:
	$(GO) build -o bin/ ./cmd/...

# The broker fault test stops RabbitMQ for a moment, so it runs alone after
# the others. Tests that need PostgreSQL or RabbitMQ skip without them,
# except under CI=true, where they fail.
test:
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -timeout 10m -tags brokerfault -run TestBrokerRestart ./e2e/

# Parse and ingest against xmllint, then stock records per second end to end
# (embedded and RabbitMQ with PostgreSQL), a full resync against each
# vendor's limits, then the bus alone.
bench:
	bash mapping/commerceml/bench.sh
	OBMENHUB_BENCH_OFFERS=100000 $(GO) test -run '^$$' -bench EndToEnd -benchtime 1x ./e2e/
	$(GO) test -run '^$$' -bench Resync -benchtime 1x ./e2e/
	$(GO) test -run '^$$' -bench OrderToChannels -benchtime 3x ./e2e/
	$(GO) test -run '^$$' -bench . -benchtime 2s ./hub/bus/

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
