package main

import (
	"fmt"
	"time"

	"github.com/wellcomecollection/pin/pin"
)

// printHoldAndYank says why an update stayed where it is (a hold) or went
// down (the pinned release was yanked), before the summary line.
func printHoldAndYank(a *app, plan *pin.Plan, dryRun bool) {
	if h := plan.Held; h != nil {
		newer := ""
		if n := plan.NewerThanHeld(); n != "" {
			newer = fmt.Sprintf("; %s is available", n)
		}
		fmt.Fprintf(a.Out, "Held at %s since %s: %s%s (pin update --unhold to move on).\n", h.Version, h.Since.Format(time.DateOnly), h.Reason, newer)
	}
	if h := plan.Lock.Hold; h != nil && plan.Held == nil {
		fmt.Fprintf(a.Out, "%s %s in pin.lock: %s (pin update --unhold releases it).\n", map[bool]string{true: "Would hold", false: "Holding"}[dryRun], h.Version, h.Reason)
	}
	if y := plan.MovedOffYanked; y != nil {
		fmt.Fprintf(a.Out, "%s is yanked on %s (%s): %s %s, the newest release that is not.\n", y.Version, y.Channel, y.Reason, map[bool]string{true: "would move to", false: "moved to"}[dryRun], plan.Release.Release.Version)
	}
}

// currentReferences lists each managed reference with the value the file
// holds now (old) and the value the update writes (new). pin.lock's
// references keep, for a reference already pinned, the value it had before
// pin first wrote it; a report of this run says what the file says.
func currentReferences(plan *pin.Plan) []pin.LockedReference {
	out := make([]pin.LockedReference, 0, len(plan.Refs))
	for _, r := range plan.Refs {
		out = append(out, pin.LockedReference{File: r.File, Line: r.Line, Component: r.Component, Field: string(r.Field), Old: r.Value, New: r.New})
	}
	return out
}
