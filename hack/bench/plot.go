//go:build linux

package main

import (
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writePlot draws calls per Service (left) and seconds to converge, with the bound the
// client-side limits set (dashed), (right) against N.
func writePlot(r *report, path string) error {
	perService := func(phase string) func(*runResult) (float64, bool) {
		return func(s *runResult) (float64, bool) {
			t, ok := phaseTotal(s, phase)
			return float64(t) / float64(s.N), ok
		}
	}
	secs := func(phase string) func(*runResult) (float64, bool) {
		return func(s *runResult) (float64, bool) {
			p := s.phase(phase)
			if p == nil || !p.Converged {
				return 0, false
			}
			return p.Seconds, true
		}
	}
	blue, red := color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255}
	left, err := linePlot("AWS calls per Service", "calls / N", []line{
		{"create", r.series(perService(phaseCreate)), blue, false},
		{"delete", r.series(perService(phaseDelete)), red, false},
	})
	if err != nil {
		return err
	}
	bound := func(phase string) func(*runResult) (float64, bool) {
		return func(s *runResult) (float64, bool) {
			p := s.phase(phase)
			if p == nil || !p.Converged {
				return 0, false
			}
			d, _, _ := phaseBound(p)
			return d.Seconds(), true
		}
	}
	right, err := linePlot("seconds to converge", "seconds", []line{
		{"create", r.series(secs(phaseCreate)), blue, false},
		{"create: bound of the limits", r.series(bound(phaseCreate)), blue, true},
		{"delete", r.series(secs(phaseDelete)), red, false},
		{"delete: bound of the limits", r.series(bound(phaseDelete)), red, true},
	})
	if err != nil {
		return err
	}
	img := vgimg.New(vg.Points(840), vg.Points(340))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24), PadTop: vg.Points(8), PadBottom: vg.Points(8),
		PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{{left, right}}, tiles, dc)
	left.Draw(canvases[0][0])
	right.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type line struct {
	name   string
	points [][2]float64
	color  color.Color
	dashed bool
}

func linePlot(title, ylabel string, lines []line) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "N (NLB Services, log scale)"
	p.Y.Label.Text = ylabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for _, l := range lines {
		if len(l.points) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(l.points))
		for i, pt := range l.points {
			xys[i].X, xys[i].Y = pt[0], pt[1]
		}
		ln, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("plotting %s: %w", l.name, err)
		}
		ln.Color, pts.Color = l.color, l.color
		if l.dashed {
			ln.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		pts.Shape = draw.CircleGlyph{}
		p.Add(ln, pts)
		p.Legend.Add(l.name, ln, pts)
	}
	// Room around the points; a log axis needs a range above 0 even for one point.
	if math.IsInf(p.X.Min, 0) || p.X.Min <= 0 {
		p.X.Min, p.X.Max = 1, 500
	}
	p.X.Min, p.X.Max = p.X.Min/1.5, p.X.Max*1.5
	p.Y.Min = 0
	if p.Y.Max <= 0 || math.IsInf(p.Y.Max, 0) {
		p.Y.Max = 1
	}
	p.Y.Max *= 1.2
	return p, nil
}
