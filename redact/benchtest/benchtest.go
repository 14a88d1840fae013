// Package benchtest helps the project's benchmarks report what the clock
// alone does not show: ProcessCPU lets a benchmark on a shared, loaded
// machine tell the work it did (CPU time) from the time it spent waiting
// for a CPU (wall time). PseudoGUID and LiveGUID give the ids a benchmark
// fills an in-memory cassette and its replay with. It is for tests only
// and imports nothing but the standard library, so that the benchmarks of
// redact and of every package above it (proxy) can use it without an
// import pointing up.
package benchtest
