// The suite's pause image (e2e/images/pause): its own small program, no dependencies.
module supabase-selfhosted/e2e/images/pause

go 1.25
