package promcheck

// NoDataInHealthyRun lists the dashboard queries (by "panel title/refId") that may return
// no series from a healthy worker, each with the reason. The check still runs them, so they
// must parse and evaluate; it only does not require data. `check-dashboard.sh --target` uses
// it for workers we do not control. The end-to-end check (TestDashboardAgainstRealWorker)
// and --fake use no allow-list: their runs give every panel data. Keep this list short.
var NoDataInHealthyRun = map[string]string{
	// Without a shadow (candidate) contract no event is judged twice and the counter has
	// no series. (The end-to-end check deploys shadow contracts to prove this panel.)
	"Shadow contract divergences/A": "no shadow contract deployed",
	"Shadow contract divergences/B": "no shadow contract deployed",
}
