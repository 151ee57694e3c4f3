using Npgsql;

namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>A uniquely named PostgreSQL database on the loopback server started by tests/scripts/start-postgres.sh.</summary>
public sealed class TestPostgres : IAsyncDisposable
{
    private const string DefaultServer = "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
    private readonly string _server = Environment.GetEnvironmentVariable("AIGATEWAY_TEST_POSTGRES") is { Length: > 0 } s ? s : DefaultServer;
    private readonly string _database = "aigw_it_" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>The connection string of the new database.</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder(_server) { Database = _database }.ConnectionString;

    /// <summary>Creates the database (fails loudly when the server is not there: these tests must not silently skip).</summary>
    public async Task CreateAsync()
    {
        await using var connection = new NpgsqlConnection(_server);
        try
        {
            await connection.OpenAsync();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException("PostgreSQL is not reachable: run tests/scripts/start-postgres.sh (or set AIGATEWAY_TEST_POSTGRES).", ex);
        }
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{_database}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
