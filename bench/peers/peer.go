// The Go peer of make bench: the table page as a Go programmer would
// write it, with net/http, database/sql and go-sql-driver/mysql, one
// prepared statement, a struct per row, html/template and encoding/json.  nginx proxies
// to it (bench/peers/go-site.conf).
//
//	PEER_DSN='user:pw@unix(/path/sock)/db' peer -listen 127.0.0.1:PORT -table demo -conns 8
//
// The DSN comes in the environment, so no password is in argv.
package main

import (
	"database/sql"
	"encoding/json"
	"flag"
	"html/template"
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/go-sql-driver/mysql"
)

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Table}}</title></head>
<body><h1>{{.Table}}</h1>
<table><thead><tr><th>id</th><th>name</th><th>city</th><th>note</th><th>price</th><th>created_at</th></tr></thead>
<tbody>{{range .Rows}}<tr><td>{{.ID}}</td><td>{{.Name}}</td>
{{- with .City}}<td>{{.}}</td>{{else}}<td class="null">NULL</td>{{end}}
{{- with .Note}}<td>{{.}}</td>{{else}}<td class="null">NULL</td>{{end}}
{{- with .Price}}<td>{{.}}</td>{{else}}<td class="null">NULL</td>{{end -}}
<td>{{.CreatedAt}}</td></tr>
{{end}}</tbody></table></body></html>
`))

// Row is one row of the table (demo's shape); NULL columns are nil.
type Row struct {
	ID        uint64  `json:"id"`
	Name      string  `json:"name"`
	City      *string `json:"city"`
	Note      *string `json:"note"`
	Price     *string `json:"price"`
	CreatedAt string  `json:"created_at"`
}

type server struct {
	table string
	stmt  *sql.Stmt
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
	var data []Row
	for rows.Next() {
		var row Row
		if err := rows.Scan(&row.ID, &row.Name, &row.City, &row.Note, &row.Price,
			&row.CreatedAt); err != nil {
			http.Error(w, "database error", http.StatusInternalServerError)
			return
		}
		data = append(data, row)
	}
	if err := rows.Err(); err != nil {
		http.Error(w, "database error", http.StatusInternalServerError)
		return
	}
	if r.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(map[string]any{"rows": data}); err != nil {
			log.Print(err)
		}
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, struct {
		Table string
		Rows  []Row
	}{s.table, data}); err != nil {
		log.Print(err)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	table := flag.String("table", "demo", "table to show")
	conns := flag.Int("conns", 8, "database connections")
	flag.Parse()
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
	log.Fatal(http.ListenAndServe(*listen, &server{table: *table, stmt: stmt}))
}
