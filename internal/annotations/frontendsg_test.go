package annotations

import (
	"slices"
	"testing"
)

func TestManageFrontendSG(t *testing.T) {
	tests := []struct {
		name    string
		ann     map[string]string
		want    bool
		wantErr bool
	}{
		{"absent", nil, false, false},
		{"true", map[string]string{SvcManageFrontendSG: "true"}, true, false},
		{"false", map[string]string{SvcManageFrontendSG: "false"}, false, false},
		{"not a bool", map[string]string{SvcManageFrontendSG: "yes please"}, false, true},
		{"blank is ParseService's to report", map[string]string{SvcManageFrontendSG: " "}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ManageFrontendSG(tt.ann, SvcManageFrontendSG)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("ManageFrontendSG = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && (err.Key != SvcManageFrontendSG || err.Value != "yes please" || err.Fix == "") {
				t.Errorf("error %+v does not name the key, the value and the fix", err)
			}
		})
	}
}

func TestManageFrontendSGKeysAreRead(t *testing.T) {
	if !slices.Contains(ServiceKeys, SvcManageFrontendSG) || !slices.Contains(IngressKeys, IngManageFrontendSG) {
		t.Fatal("the keys are not among the keys lbsg reads")
	}
	_, errs := ParseService(map[string]string{SvcManageFrontendSG: ""})
	if len(errs) != 1 || errs[0].Key != SvcManageFrontendSG {
		t.Errorf("empty value: errors %v, want one naming %s", errs, SvcManageFrontendSG)
	}
}
