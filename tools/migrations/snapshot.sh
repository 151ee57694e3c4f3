#!/usr/bin/env bash
# Writes the EF model's create script per provider to src/AiGateway/Storage/Migrations/{Sqlite,Postgres}/model.sql.
# After a model change: run this, then add NNNN_name.sql migrations that take the previous schema to the new model.sql
# (for a fresh database the migrations must produce exactly model.sql; SchemaMigrationTests checks the snapshot).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dotnet build src/AiGateway -c Release -nologo -v:q -clp:ErrorsOnly
for provider in Sqlite Postgres; do
  dotnet src/AiGateway/bin/Release/net10.0/AiGateway.dll --print-schema "$provider" > "src/AiGateway/Storage/Migrations/$provider/model.sql"
  echo "wrote src/AiGateway/Storage/Migrations/$provider/model.sql"
done
