package betfair

import (
	"io"
	"os"
	"testing"
)

// BenchmarkImport imports the shared cricket match odds file (3 MB, 18.5k
// lines) to its end: MB/s is of the file as read, the prescan included
// (every file is read twice).
//
//	go test -run '^$' -bench '^BenchmarkImport$' -benchtime 2s ./replay/betfair/
func BenchmarkImport(b *testing.B) {
	path := sharedFile(b, cricketOdds)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	var events int64
	for b.Loop() {
		im, err := Open([]string{path}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := im.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			events++
		}
		im.Close()
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
