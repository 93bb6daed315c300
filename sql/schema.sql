-- The demo table that the page shows.  Run it in the application's
-- database with the mysql client, locally or against RDS:
--   mysql --defaults-extra-file=admin.cnf appdb < sql/schema.sql
-- Safe to run again: it changes nothing when the table exists.
SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS demo (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  city VARCHAR(100) NULL,
  note VARCHAR(255) NULL,
  price DECIMAL(10, 2) NULL,
  created_at DATETIME NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
