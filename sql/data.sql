-- Ten demo rows that exercise the page: markup, quotes and ampersands
-- that must be escaped, Korean and other non-ASCII text, emoji (four
-- UTF-8 bytes), control characters, an empty string beside NULL, and
-- the string 'NULL' beside a real NULL.  Safe to run again: REPLACE
-- puts the same ten rows back.
--   mysql --defaults-extra-file=admin.cnf appdb < sql/data.sql
SET NAMES utf8mb4;

REPLACE INTO demo (id, name, city, note, price, created_at) VALUES
  (1, 'Kim Minji', '서울', 'Hello from 대한민국', 12.50, '2024-03-01 09:00:00'),
  (2, '<script>alert("x")</script>', 'Busan', '<b>bold</b> & <i>markup</i>', 0.99, '2024-03-02 10:30:00'),
  (3, 'Tom & Jerry', 'New York', 'He said "hi" and it''s fine', 100.00, '2024-03-03 11:45:00'),
  (4, '', NULL, NULL, NULL, '2024-03-04 12:00:00'),
  (5, 'Rocket 🚀', 'Jeju', 'Emoji ✨🎉 and a snowman ☃', -5.25, '2024-03-05 13:15:00'),
  (6, '山田太郎', '東京', '日本語のテキスト', 1234.56, '2024-03-06 14:20:00'),
  (7, 'Tab\there', 'Line\nbreak', 'Backslash \\, backspace \b and Ctrl-Z \Z', 3.00, '2024-03-07 15:25:00'),
  (8, 'NULL', 'Zürich', 'The string NULL is not a NULL', NULL, '2024-03-08 16:30:00'),
  (9, 'Ünïcödé', 'Montréal', 'Ελληνικά, русский, العربية', 42.00, '2024-03-09 17:35:00'),
  (10, 'O''Brien', 'Dublin', '', 7.10, '2024-03-10 18:40:00');
