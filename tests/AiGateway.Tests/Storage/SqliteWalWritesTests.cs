using AiGateway.Storage;
using Microsoft.Data.Sqlite;

namespace AiGateway.Tests.Storage;

/// <summary>
/// The SQLite VFS shim that writes each commit's WAL frames in one write (<see cref="SqliteWalWrites"/>): fewer writes,
/// and nothing a reader, a copy of the files or a crash could tell apart from SQLite writing every frame itself.
/// </summary>
public sealed class SqliteWalWritesTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aigw-walwrites-" + Guid.NewGuid().ToString("N"));

    public SqliteWalWritesTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A connection through the gateway's SQLite set-up (which registers the shim), outside any pool.</summary>
    private SqliteConnection Open(string file = "w.db")
    {
        var connectionString = LedgerDatabase.PrepareSqliteConnectionString($"Data Source={Path.Combine(_dir, file)}");
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
        connection.Open();
        Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;");
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar());
    }

    private static string Text(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar())!;
    }

    /// <summary>
    /// Inserts <paramref name="rows"/> rows of about 300 bytes (plus index entries) in one transaction; with
    /// <paramref name="count"/> the same transaction adds them to the <c>counter</c> row.
    /// </summary>
    private static void InsertRows(SqliteConnection connection, int first, int rows, bool count = false)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO t (id, k, payload) VALUES (@id, @k, @p)";
        var id = command.Parameters.Add("@id", SqliteType.Integer);
        var k = command.Parameters.Add("@k", SqliteType.Text);
        var p = command.Parameters.Add("@p", SqliteType.Text);
        for (var i = first; i < first + rows; i++)
        {
            id.Value = i;
            k.Value = $"key-{i * 7919 % 100_003:D6}"; // scattered: the index touches many pages
            p.Value = new string((char)('a' + i % 26), 300);
            command.ExecuteNonQuery();
        }
        if (count)
        {
            command.Parameters.Clear();
            command.CommandText = "UPDATE counter SET n = n + @rows";
            command.Parameters.AddWithValue("@rows", rows);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    [Fact]
    public void ACommitsFrames_GoToTheFileInOneWrite()
    {
        using var connection = Open();
        Assert.True(SqliteWalWrites.Active, "the shim is not SQLite's default VFS after the gateway's SQLite set-up");
        Execute(connection, "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, payload TEXT NOT NULL); CREATE INDEX ix_t_k ON t (k);");
        InsertRows(connection, 0, 200);
        var before = SqliteWalWrites.Counts(connection) ?? throw new Xunit.Sdk.XunitException("the connection's WAL is not open through the shim");

        InsertRows(connection, 200, 40); // ≈ 12 KB of rows and scattered index entries: several pages, under 30 frames

        var after = SqliteWalWrites.Counts(connection)!.Value;
        var sqliteWrites = after.Writes - before.Writes;
        var fileWrites = after.FileWrites - before.FileWrites;
        // SQLite writes each frame as a header and a page: at least 2 pages → 4 writes.
        Assert.True(sqliteWrites >= 4, $"SQLite made {sqliteWrites} WAL writes through the shim for a multi-page commit");
        Assert.True(fileWrites == 1, $"{sqliteWrites} WAL writes became {fileWrites} file writes, expected 1");
    }

    [Fact]
    public void ACommitLargerThanTheBuffer_IsWrittenInBufferSizedWrites_AndReadsBackWhole()
    {
        using var connection = Open();
        Execute(connection, "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, payload TEXT NOT NULL); CREATE INDEX ix_t_k ON t (k);");
        var before = SqliteWalWrites.Counts(connection)!.Value;

        InsertRows(connection, 0, 2_000); // ≈ 700 KB: several buffers' worth

        var after = SqliteWalWrites.Counts(connection)!.Value;
        var frames = (after.Writes - before.Writes) / 2;
        var fileWrites = after.FileWrites - before.FileWrites;
        var bound = frames * 4_120 / SqliteWalWrites.BufferCapacity + 2;
        Assert.True(fileWrites >= 2 && fileWrites <= bound, $"{frames} frames took {fileWrites} file writes (expected 2..{bound})");
        using var reader = Open();
        Assert.Equal(2_000, Scalar(reader, "SELECT COUNT(*) FROM t"));
        Assert.Equal("ok", Text(reader, "PRAGMA integrity_check"));
    }

    [Fact]
    public void WhenCommitReturns_ItsFramesAreInTheWalFile_AsAKilledProcessLeavesThem()
    {
        // The writer stays open (its WAL is not checkpointed or deleted by a close); a copy of the database and WAL
        // files without the shared-memory index is what a machine sees after kill -9: SQLite recovers from the WAL file alone.
        using var writer = Open();
        Execute(writer, "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, payload TEXT NOT NULL); CREATE INDEX ix_t_k ON t (k);");
        Execute(writer, "PRAGMA wal_autocheckpoint=0;");
        for (var batch = 0; batch < 5; batch++) InsertRows(writer, batch * 30, 30);

        var copy = Path.Combine(_dir, "copy");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(_dir, "w.db"), Path.Combine(copy, "w.db"));
        File.Copy(Path.Combine(_dir, "w.db-wal"), Path.Combine(copy, "w.db-wal"));
        using var recovered = Open(Path.Combine("copy", "w.db"));
        Assert.Equal(150, Scalar(recovered, "SELECT COUNT(*) FROM t"));
        Assert.Equal("ok", Text(recovered, "PRAGMA integrity_check"));
    }

    [Fact]
    public async Task ReadersOnOtherConnections_SeeEveryCommitWhole_WhileTheWalFillsAndRestarts()
    {
        using (var setup = Open())
        {
            Execute(setup, """
                CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, payload TEXT NOT NULL); CREATE INDEX ix_t_k ON t (k);
                CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0);
                """);
        }
        const int Commits = 160;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var done = false;
        var writer = Task.Run(() =>
        {
            using var connection = Open();
            var next = 0;
            for (var i = 0; i < Commits; i++)
            {
                // Mostly small commits, some larger than the shim's buffer; the counter row says how many rows exist.
                var rows = i % 20 == 0 ? 400 : 1 + i % 9;
                InsertRows(connection, next, rows, count: true);
                next += rows;
                // The WAL restarts from its beginning after a complete checkpoint (the header is rewritten at offset 0).
                if (i % 40 == 39) Execute(connection, "PRAGMA wal_checkpoint(RESTART);");
            }
            Volatile.Write(ref done, true);
        });
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            using var connection = Open();
            var reads = 0;
            while (!Volatile.Read(ref done) || reads == 0)
            {
                using var transaction = connection.BeginTransaction(deferred: true);
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "SELECT (SELECT n FROM counter), (SELECT COUNT(*) FROM t), (SELECT COUNT(*) FROM t INDEXED BY ix_t_k), (SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM t)";
                using var reader = command.ExecuteReader();
                reader.Read();
                var (n, rows, indexed, bytes) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
                if (n != rows || rows != indexed || bytes != rows * 300) failures.Enqueue($"counter {n}, rows {rows}, in the index {indexed}, payload bytes {bytes}");
                reads++;
            }
            return reads;
        })).ToArray();

        await writer;
        var reads = await Task.WhenAll(readers);

        Assert.Empty(failures);
        Assert.All(reads, r => Assert.True(r > 0));
        using var check = Open();
        Assert.Equal(Scalar(check, "SELECT n FROM counter"), Scalar(check, "SELECT COUNT(*) FROM t"));
        Assert.Equal("ok", Text(check, "PRAGMA integrity_check"));
    }
}
