package plan

// For the external tests (package plan_test), which apply plans with the apply package's
// executor: package plan cannot import it (apply imports plan), its external tests can.

// GoldenInput is the content of a case's input.json.
type GoldenInput = goldenInput

// FirstPlan plans the case's input.
func (in goldenInput) FirstPlan() Plan { return in.firstPlan() }

var (
	ReadGoldenInput = readGoldenInput
	CaseDirs        = caseDirs
	Render          = render
)

// NetworkingInputs are the inputs of TestNetworkingIsolation by case name, each with the
// cluster that test sets.
func NetworkingInputs() map[string]NetworkingInput {
	out := map[string]NetworkingInput{}
	for _, c := range networkingCases() {
		c.in.Cluster = "prod"
		out[c.name] = c.in
	}
	return out
}
