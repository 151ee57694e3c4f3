using System.Collections;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace AiGateway.Storage;

/// <summary>
/// One ledger SQL text (one or more statements) prepared once on a SQLite connection as raw SQLite statements, with
/// each statement's parameters resolved to positions once. Microsoft.Data.Sqlite looks every parameter up by name
/// (a UTF-8 conversion and a native lookup) for every statement of a command on every execution; on the metered hot
/// path that binding was a larger cost than SQLite's own work. Semantics follow Microsoft.Data.Sqlite's: statements
/// run in order, a statement without result columns runs to completion when reached, a statement with result
/// columns (a SELECT, or a RETURNING clause) is a result set, and disposing a reader runs the statements left.
/// </summary>
internal sealed class SqliteRawCommand : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt[] _statements;
    // Per statement: for each SQLite parameter (1-based index − 1), its position in the caller's parameter array.
    private readonly int[][] _bindings;
    private bool _inUse;

    private SqliteRawCommand(sqlite3 db, sqlite3_stmt[] statements, int[][] bindings)
    {
        _db = db;
        _statements = statements;
        _bindings = bindings;
    }

    /// <summary>Prepares <paramref name="sql"/>; parameter names are resolved against <paramref name="parameters"/> (the same names every time).</summary>
    public static SqliteRawCommand Prepare(sqlite3 db, string sql, (string Name, object? Value)[] parameters)
    {
        var statements = new List<sqlite3_stmt>();
        var bindings = new List<int[]>();
        try
        {
            var rest = sql;
            while (!string.IsNullOrWhiteSpace(rest))
            {
                var rc = raw.sqlite3_prepare_v2(db, rest, out var statement, out var tail);
                SqliteException.ThrowExceptionForRC(rc, db);
                rest = tail;
                if (statement is null || statement.IsInvalid) continue; // only whitespace or a comment
                statements.Add(statement);
                var count = raw.sqlite3_bind_parameter_count(statement);
                var map = new int[count];
                for (var i = 1; i <= count; i++)
                {
                    var name = raw.sqlite3_bind_parameter_name(statement, i).utf8_to_string();
                    var position = Array.FindIndex(parameters, p => string.Equals(p.Name, name, StringComparison.Ordinal));
                    if (position < 0) throw new InvalidOperationException($"Must add values for the following parameters: {name}");
                    map[i - 1] = position;
                }
                bindings.Add(map);
            }
        }
        catch
        {
            foreach (var statement in statements) statement.Dispose();
            throw;
        }
        return new SqliteRawCommand(db, [.. statements], [.. bindings]);
    }

    /// <summary>Runs every statement; returns the rows changed by those that write.</summary>
    public int ExecuteNonQuery((string Name, object? Value)[] parameters)
    {
        using var reader = ExecuteReader(parameters);
        reader.Close();
        return reader.RecordsAffected;
    }

    /// <summary>Starts running the statements; the reader is positioned on the first result set (if any).</summary>
    public Reader ExecuteReader((string Name, object? Value)[] parameters)
    {
        if (_inUse) throw new InvalidOperationException("The previous reader of this command is still open.");
        _inUse = true;
        return new Reader(this, parameters);
    }

    /// <summary>Finalizes the statements.</summary>
    public void Dispose()
    {
        foreach (var statement in _statements) statement.Dispose();
    }

    private void Bind(int index, (string Name, object? Value)[] parameters)
    {
        var statement = _statements[index];
        var map = _bindings[index];
        for (var i = 0; i < map.Length; i++)
        {
            var value = parameters[map[i]].Value;
            var rc = value switch
            {
                null or DBNull => raw.sqlite3_bind_null(statement, i + 1),
                long l => raw.sqlite3_bind_int64(statement, i + 1, l),
                int n => raw.sqlite3_bind_int64(statement, i + 1, n),
                string s => raw.sqlite3_bind_text(statement, i + 1, s),
                bool b => raw.sqlite3_bind_int64(statement, i + 1, b ? 1 : 0),
                double d => raw.sqlite3_bind_double(statement, i + 1, d),
                short n => raw.sqlite3_bind_int64(statement, i + 1, n),
                byte[] bytes => raw.sqlite3_bind_blob(statement, i + 1, bytes),
                // Stored as SqliteGuid's 16 bytes (Microsoft.Data.Sqlite would bind Guid.ToByteArray()'s other order).
                Guid g => raw.sqlite3_bind_blob(statement, i + 1, SqliteGuid.ToBytes(g)),
                _ => throw new NotSupportedException($"Ledger SQL parameter {parameters[map[i]].Name} has an unsupported type {value.GetType().Name}."),
            };
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    private int Step(sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        if (rc is raw.SQLITE_ROW or raw.SQLITE_DONE) return rc;
        raw.sqlite3_reset(statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
        return rc;
    }

    /// <summary>A forward-only reader over the command's result sets (the subset of <see cref="DbDataReader"/> the ledger uses).</summary>
    internal sealed class Reader : DbDataReader
    {
        private readonly SqliteRawCommand _command;
        private readonly (string Name, object? Value)[] _parameters;
        private int _index = -1;
        private sqlite3_stmt? _current;
        private bool _firstRowPending;
        private bool _done;
        private bool _closed;
        private bool _failed;
        private int _changes;

        public Reader(SqliteRawCommand command, (string Name, object? Value)[] parameters)
        {
            _command = command;
            _parameters = parameters;
            Guarded(MoveToNextResultSet);
        }

        /// <summary>After a failed statement nothing more runs (Close only resets the statements).</summary>
        private bool Guarded(Func<bool> step)
        {
            try
            {
                return step();
            }
            catch
            {
                _failed = true;
                Close();
                throw;
            }
        }

        /// <summary>Runs statements until one has result columns (positioned before its first row) or none is left.</summary>
        private bool MoveToNextResultSet()
        {
            if (_current is not null)
            {
                // Finish the current result set (a RETURNING statement still writes its remaining rows) before leaving it.
                if (!_done) while (_command.Step(_current) == raw.SQLITE_ROW) { }
                CountChanges(_current);
                raw.sqlite3_reset(_current);
                raw.sqlite3_clear_bindings(_current);
                _current = null;
            }
            var statements = _command._statements;
            while (++_index < statements.Length)
            {
                var statement = statements[_index];
                _command.Bind(_index, _parameters);
                int rc;
                try
                {
                    rc = _command.Step(statement);
                }
                catch
                {
                    raw.sqlite3_clear_bindings(statement);
                    throw;
                }
                if (raw.sqlite3_column_count(statement) == 0)
                {
                    while (rc == raw.SQLITE_ROW) rc = _command.Step(statement);
                    CountChanges(statement);
                    raw.sqlite3_reset(statement);
                    raw.sqlite3_clear_bindings(statement);
                    continue;
                }
                _current = statement;
                _firstRowPending = rc == raw.SQLITE_ROW;
                _done = rc == raw.SQLITE_DONE;
                return true;
            }
            return false;
        }

        private void CountChanges(sqlite3_stmt statement)
        {
            if (raw.sqlite3_stmt_readonly(statement) == 0) _changes += raw.sqlite3_changes(_command._db);
        }

        private sqlite3_stmt Row => _current ?? throw new InvalidOperationException("No current row.");

        public override bool Read() => !_closed && Guarded(ReadCore);

        private bool ReadCore()
        {
            if (_current is null || _done) return false;
            if (_firstRowPending)
            {
                _firstRowPending = false;
                return true;
            }
            if (_command.Step(_current) == raw.SQLITE_ROW) return true;
            _done = true;
            return false;
        }

        public override bool NextResult() => !_closed && Guarded(MoveToNextResultSet);

        public override void Close()
        {
            if (_closed) return;
            try
            {
                // Like Microsoft.Data.Sqlite: the statements not reached yet still run (not after a failure).
                if (!_failed) while (MoveToNextResultSet()) { }
            }
            finally
            {
                _closed = true;
                foreach (var statement in _command._statements)
                {
                    raw.sqlite3_reset(statement);
                    raw.sqlite3_clear_bindings(statement);
                }
                _command._inUse = false;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) Close();
            base.Dispose(disposing);
        }

        public override int FieldCount => _current is null ? 0 : raw.sqlite3_column_count(_current);
        public override int RecordsAffected => _changes;
        public override bool HasRows => _current is not null && (_firstRowPending || !_done);
        public override bool IsClosed => _closed;
        public override int Depth => 0;
        public override object this[int ordinal] => GetValue(ordinal);
        public override object this[string name] => GetValue(GetOrdinal(name));

        public override bool IsDBNull(int ordinal) => raw.sqlite3_column_type(Row, ordinal) == raw.SQLITE_NULL;
        public override long GetInt64(int ordinal) => raw.sqlite3_column_int64(Row, ordinal);
        public override int GetInt32(int ordinal) => checked((int)raw.sqlite3_column_int64(Row, ordinal));
        public override short GetInt16(int ordinal) => checked((short)raw.sqlite3_column_int64(Row, ordinal));
        public override bool GetBoolean(int ordinal) => raw.sqlite3_column_int64(Row, ordinal) != 0;
        public override double GetDouble(int ordinal) => raw.sqlite3_column_double(Row, ordinal);
        public override float GetFloat(int ordinal) => (float)raw.sqlite3_column_double(Row, ordinal);
        public override decimal GetDecimal(int ordinal) => (decimal)raw.sqlite3_column_double(Row, ordinal);
        public override string GetString(int ordinal) =>
            IsDBNull(ordinal) ? throw new InvalidCastException("The column is NULL.") : raw.sqlite3_column_text(Row, ordinal).utf8_to_string();
        public override Guid GetGuid(int ordinal) => SqliteGuid.Read(this, ordinal);
        public override string GetName(int ordinal) => raw.sqlite3_column_name(Row, ordinal).utf8_to_string();

        public override int GetOrdinal(string name)
        {
            for (var i = 0; i < FieldCount; i++)
                if (string.Equals(GetName(i), name, StringComparison.OrdinalIgnoreCase)) return i;
            throw new IndexOutOfRangeException(name);
        }

        public override object GetValue(int ordinal) => raw.sqlite3_column_type(Row, ordinal) switch
        {
            raw.SQLITE_INTEGER => raw.sqlite3_column_int64(Row, ordinal),
            raw.SQLITE_FLOAT => raw.sqlite3_column_double(Row, ordinal),
            raw.SQLITE_TEXT => raw.sqlite3_column_text(Row, ordinal).utf8_to_string(),
            raw.SQLITE_BLOB => raw.sqlite3_column_blob(Row, ordinal).ToArray(),
            _ => DBNull.Value,
        };

        public override Type GetFieldType(int ordinal) => raw.sqlite3_column_type(Row, ordinal) switch
        {
            raw.SQLITE_INTEGER => typeof(long),
            raw.SQLITE_FLOAT => typeof(double),
            raw.SQLITE_BLOB => typeof(byte[]),
            _ => typeof(string),
        };

        public override int GetValues(object[] values)
        {
            var count = Math.Min(values.Length, FieldCount);
            for (var i = 0; i < count; i++) values[i] = GetValue(i);
            return count;
        }

        public override string GetDataTypeName(int ordinal) => GetFieldType(ordinal).Name;
        public override byte GetByte(int ordinal) => checked((byte)raw.sqlite3_column_int64(Row, ordinal));
        public override char GetChar(int ordinal) => GetString(ordinal)[0];
        public override DateTime GetDateTime(int ordinal) => DateTime.Parse(GetString(ordinal), System.Globalization.CultureInfo.InvariantCulture);
        public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => throw new NotSupportedException();
        public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => throw new NotSupportedException();
        public override IEnumerator GetEnumerator() => new DbEnumerator(this);
    }
}
