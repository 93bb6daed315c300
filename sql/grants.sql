-- The application's database user: it can SELECT the demo table and do
-- nothing else.  Run it as an admin in the application's database, with
-- the new password in @app_password, so that no password is written in
-- this file or shown in a process list:
--   mysql --defaults-extra-file=admin.cnf appdb
--   > SET @app_password = '...';
--   > SOURCE sql/grants.sql
-- Without @app_password (or with one shorter than 12 characters) the
-- PREPARE below fails on NULL and nothing is created.
-- Safe to run again: it sets the password and the grant anew.

SET @app_user_sql = IF(CHAR_LENGTH(@app_password) >= 12,
  CONCAT('CREATE USER IF NOT EXISTS ''fcgi_app''@''%'' IDENTIFIED BY ',
         QUOTE(@app_password)),
  NULL);
PREPARE app_user_stmt FROM @app_user_sql;
EXECUTE app_user_stmt;
DEALLOCATE PREPARE app_user_stmt;

SET @app_user_sql = CONCAT('ALTER USER ''fcgi_app''@''%'' IDENTIFIED BY ',
                           QUOTE(@app_password));
PREPARE app_user_stmt FROM @app_user_sql;
EXECUTE app_user_stmt;
DEALLOCATE PREPARE app_user_stmt;
SET @app_user_sql = NULL;
SET @app_password = NULL;

GRANT SELECT ON demo TO 'fcgi_app'@'%';
