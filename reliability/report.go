package reliability

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Row is one scenario's line in the report.
type Row struct {
	Scenario    string
	In          int // records put (ledger entries)
	Curated     int
	Quarantined int
	Missing     int
	Duplicates  int
	// Recover is the time from the end of the last disturbance (restart, fault cleared,
	// dependency back) until every record was accounted for; 0 when not applicable.
	Recover time.Duration
	// Note says what was done (kills, faults injected, ...).
	Note string
}

// RowFrom fills a Row from an audit report.
func RowFrom(scenario string, r *Report, recover time.Duration, note string) Row {
	return Row{Scenario: scenario, In: r.Records, Curated: r.Curated, Quarantined: r.Quarantined,
		Missing: len(r.Missing), Duplicates: r.Duplicates(), Recover: recover, Note: note}
}

// Table renders rows as a fixed-width text table, in the order given.
func Table(rows []Row) string {
	header := []string{"scenario", "records in", "curated", "quarantined", "missing", "duplicates", "time to recover", "notes"}
	cells := [][]string{header}
	for _, r := range rows {
		rec := "-"
		if r.Recover > 0 {
			rec = r.Recover.Round(100 * time.Millisecond).String()
		}
		cells = append(cells, []string{r.Scenario, itoa(r.In), itoa(r.Curated), itoa(r.Quarantined),
			itoa(r.Missing), itoa(r.Duplicates), rec, r.Note})
	}
	width := make([]int, len(header))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		var l strings.Builder
		for i, c := range row {
			if i > 0 {
				l.WriteString("  ")
			}
			if i == 0 || i == len(row)-1 {
				fmt.Fprintf(&l, "%-*s", width[i], c)
			} else {
				fmt.Fprintf(&l, "%*s", width[i], c)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteString("\n")
	}
	line(cells[0])
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, row := range cells[1:] {
		line(row)
	}
	return b.String()
}

// Rows collects report rows from scenarios running in parallel.
type Rows struct {
	mu   sync.Mutex
	rows []Row
}

// Add records a row.
func (rs *Rows) Add(r Row) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.rows = append(rs.rows, r)
}

// Sorted returns the rows sorted by scenario name.
func (rs *Rows) Sorted() []Row {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := append([]Row(nil), rs.rows...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Scenario < out[j].Scenario })
	return out
}
