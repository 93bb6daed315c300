<?php
// The PHP peer of make bench: the table page as a PHP programmer would
// write it, under PHP-FPM with a persistent PDO connection and one
// prepared statement per request.  The pool (php-fpm.conf.in) passes
// the connection settings in the environment.
$table = getenv('PEER_TABLE') ?: 'demo';
$limit = 100;
if (isset($_GET['limit'])) {
    $limit = filter_var($_GET['limit'], FILTER_VALIDATE_INT,
        ['options' => ['min_range' => 1, 'max_range' => 1000]]);
    if ($limit === false) {
        http_response_code(400);
        exit("bad limit\n");
    }
}
try {
    $db = new PDO('mysql:unix_socket=' . getenv('PEER_SOCKET') . ';dbname=' . getenv('PEER_DB') .
        ';charset=utf8mb4', getenv('PEER_USER'), getenv('PEER_PASSWORD'),
        [PDO::ATTR_PERSISTENT => true, PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
         PDO::ATTR_EMULATE_PREPARES => false]);
    $stmt = $db->prepare("SELECT * FROM `$table` ORDER BY id LIMIT ?");
    $stmt->bindValue(1, $limit, PDO::PARAM_INT);
    $stmt->execute();
    $rows = $stmt->fetchAll(PDO::FETCH_ASSOC);
} catch (PDOException $e) {
    http_response_code(503);
    exit("database unavailable\n");
}
if (($_GET['format'] ?? '') === 'json') {
    header('Content-Type: application/json');
    echo json_encode(['rows' => $rows], JSON_UNESCAPED_UNICODE), "\n";
    exit;
}
$h = fn($s) => htmlspecialchars($s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
?>
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title><?= $h($table) ?></title></head>
<body><h1><?= $h($table) ?></h1>
<table><thead><tr><?php foreach (array_keys($rows[0] ?? []) as $c): ?><th><?= $h($c) ?></th><?php endforeach ?></tr></thead>
<tbody><?php foreach ($rows as $row): ?><tr><?php foreach ($row as $v): ?><?= $v === null ? '<td class="null">NULL</td>' : '<td>' . $h($v) . '</td>' ?><?php endforeach ?></tr>
<?php endforeach ?></tbody></table></body></html>
