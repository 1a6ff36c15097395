BEGIN;
CREATE TABLE staging_import (id bigint, payload jsonb);
CREATE INDEX staging_import_id_idx ON staging_import (id);
COMMIT;
