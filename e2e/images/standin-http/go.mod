// The serving stand-in of the suite's Kubernetes phase (e2e/images/standin-http): its own small program.
module supabase-selfhosted/e2e/images/standin-http

go 1.25
