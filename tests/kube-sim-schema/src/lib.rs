//! CRD schema validation for kube-sim (being built).
