#!/usr/bin/env bash
# Run by the airflow-init service (as root) before the other Airflow services start; safe to rerun.
set -euo pipefail

: "${AIRFLOW_UID:?AIRFLOW_UID must be set, see .env.example}"

echo "Migrating the metadata database"
# /entrypoint waits for the database, as it does for every service of the image.
/entrypoint airflow db migrate

echo "Writing the SimpleAuthManager password of ${AIRFLOW_ADMIN_USERNAME}"
python - <<'PY'
import json
import os

with open(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"], "w") as passwords:
    json.dump({os.environ["AIRFLOW_ADMIN_USERNAME"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, passwords)
PY

echo "Creating the alert topic on moto"
python /opt/airflow/docker/bootstrap_sns.py

# The services run as AIRFLOW_UID; the auth manager opens the passwords file read-write.
chown -R "${AIRFLOW_UID}:0" /opt/airflow/logs /opt/airflow/auth
