// The lean Go peer of make bench: the table page written for speed.
// net/http and database/sql with go-sql-driver/mysql (a pool of -conns
// connections), one statement prepared at start, each row scanned into
// sql.RawBytes and the page built in one strings.Builder, escaped by
// hand for exactly what fcgi-app escapes in HTML: & < > " ' as entities,
// C0 controls but tab, LF and CR as their control pictures (U+2400 + c),
// DEL as U+2421, and C1 controls, noncharacters and bytes that are no
// UTF-8 as U+FFFD.  No html/template; HTML only.  nginx proxies to it
// (bench/peers/proxy-site.conf.in); GOMAXPROCS is the number of CPUs.
//
//	PEER_DSN='user:pw@unix(/path/sock)/db' lean -listen 127.0.0.1:PORT -table demo -conns 16
//
// The DSN comes in the environment, so no password is in argv.
package main

import (
	"database/sql"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
)

// special[c] is what ASCII byte c becomes on the page ("" for itself).
var special [128]string

func init() {
	for c := 0; c < 0x20; c++ {
		if c != '\t' && c != '\n' && c != '\r' {
			special[c] = string(rune(0x2400 + c))
		}
	}
	special[0x7f] = "\u2421"
	special['&'], special['<'], special['>'] = "&amp;", "&lt;", "&gt;"
	special['"'], special['\''] = "&quot;", "&#39;"
}

// forbidden: the code points HTML forbids in a page, which fcgi-app
// shows as U+FFFD.
func forbidden(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || (r >= 0xfdd0 && r <= 0xfdef) || r&0xfffe == 0xfffe
}

// escape appends v to b as fcgi-app's HTML writer would show it.
func escape(b *strings.Builder, v []byte) {
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c < 0x80 {
			if s := special[c]; s != "" {
				b.Write(v[start:i])
				b.WriteString(s)
				start = i + 1
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && n == 1 || forbidden(r) {
			b.Write(v[start:i])
			b.WriteString("\uFFFD")
			start = i + n
		}
		i += n
	}
	b.Write(v[start:])
}

type server struct {
	head string // the page up to the first row
	stmt *sql.Stmt
	cols int
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			http.Error(w, "bad limit", http.StatusBadRequest)
			return
		}
		limit = n
	}
	rows, err := s.stmt.Query(limit)
	if err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	defer rows.Close()
	vals := make([]sql.RawBytes, s.cols)
	ptrs := make([]any, s.cols)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var b strings.Builder
	b.Grow(len(s.head) + 256*limit)
	b.WriteString(s.head)
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			http.Error(w, "database error", http.StatusInternalServerError)
			return
		}
		b.WriteString("<tr>")
		for _, v := range vals {
			if v == nil {
				b.WriteString(`<td class="null">NULL</td>`)
				continue
			}
			b.WriteString("<td>")
			escape(&b, v)
			b.WriteString("</td>")
		}
		b.WriteString("</tr>\n")
	}
	if err := rows.Err(); err != nil {
		http.Error(w, "database error", http.StatusInternalServerError)
		return
	}
	b.WriteString("</tbody></table></body></html>\n")
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	if _, err := io.WriteString(w, b.String()); err != nil {
		log.Print(err)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8082", "address to listen on")
	table := flag.String("table", "demo", "table to show")
	conns := flag.Int("conns", 16, "database connections")
	flag.Parse()
	runtime.GOMAXPROCS(runtime.NumCPU())
	cfg, err := mysql.ParseDSN(os.Getenv("PEER_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(*conns)
	db.SetMaxIdleConns(*conns)
	stmt, err := db.Prepare("SELECT * FROM `" + *table + "` ORDER BY id LIMIT ?")
	if err != nil {
		log.Fatal(err)
	}
	// the column names, once: the statement's shape does not change
	rows, err := stmt.Query(1)
	if err != nil {
		log.Fatal(err)
	}
	cols, err := rows.Columns()
	rows.Close()
	if err != nil {
		log.Fatal(err)
	}
	var head strings.Builder
	t := []byte(*table)
	head.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>`)
	escape(&head, t)
	head.WriteString("</title></head>\n<body><h1>")
	escape(&head, t)
	head.WriteString("</h1>\n<table><thead><tr>")
	for _, c := range cols {
		head.WriteString("<th>")
		escape(&head, []byte(c))
		head.WriteString("</th>")
	}
	head.WriteString("</tr></thead>\n<tbody>")
	log.Fatal(http.ListenAndServe(*listen, &server{head: head.String(), stmt: stmt,
		cols: len(cols)}))
}
