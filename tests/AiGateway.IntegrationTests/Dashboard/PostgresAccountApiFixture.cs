using Npgsql;

namespace AiGateway.IntegrationTests.Dashboard;

/// <summary>
/// <see cref="AccountApiFixture"/> with the gateway on a fresh PostgreSQL database (dropped afterwards). Reads
/// <c>AIGATEWAY_TEST_POSTGRES</c> like the ledger tests; an unreachable server fails the tests (run
/// tests/scripts/start-postgres.sh), never skips them.
/// </summary>
public sealed class PostgresAccountApiFixture : AccountApiFixture
{
    private const string DefaultServer = "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
    private readonly string _database = $"aigw_dashboard_test_{Guid.NewGuid():N}";
    private readonly string _server = Environment.GetEnvironmentVariable("AIGATEWAY_TEST_POSTGRES") is { Length: > 0 } s ? s : DefaultServer;

    protected override async Task<IDictionary<string, string?>?> CreateSettingsAsync()
    {
        await using var connection = new NpgsqlConnection(_server);
        try
        {
            await connection.OpenAsync();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                $"PostgreSQL is not reachable at '{new NpgsqlConnectionStringBuilder(_server) { Password = null }}'. " +
                "Run tests/scripts/start-postgres.sh (or set AIGATEWAY_TEST_POSTGRES).", ex);
        }
        await using (var command = new NpgsqlCommand($"CREATE DATABASE \"{_database}\"", connection))
        {
            await command.ExecuteNonQueryAsync();
        }
        return new Dictionary<string, string?>
        {
            ["Ledger:Provider"] = "Postgres",
            ["ConnectionStrings:Ledger"] = new NpgsqlConnectionStringBuilder(_server) { Database = _database, MaxPoolSize = 10 }.ToString(),
        };
    }

    protected override async Task DropAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>Shares one <see cref="PostgresAccountApiFixture"/> between the PostgreSQL runs of the account API tests.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresAccountApiCollection : ICollectionFixture<PostgresAccountApiFixture>
{
    /// <summary>The collection name.</summary>
    public const string Name = "account-api-postgres";
}
