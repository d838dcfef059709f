-- A conversation theme's background picture: the conversation holds a reference on its file
-- (files.refs) until the theme changes or the conversation goes.
-- Keep in step with the other backend's 0007_theme_background.sql.

ALTER TABLE conversations ADD COLUMN theme_file_id BIGINT;
