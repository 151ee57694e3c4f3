using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Dashboard;

/// <summary>
/// <see cref="AccountApiFixture"/> with the gateway on a fresh PostgreSQL database (dropped afterwards). Reads
/// <c>AIGATEWAY_TEST_POSTGRES</c> like the ledger tests; an unreachable server fails the tests (run
/// tests/scripts/start-postgres.sh), never skips them.
/// </summary>
public sealed class PostgresAccountApiFixture : AccountApiFixture
{
    private readonly TestPostgres _postgres = new();

    protected override async Task<IDictionary<string, string?>?> CreateSettingsAsync()
    {
        await _postgres.CreateAsync();
        return new Dictionary<string, string?>
        {
            ["Ledger:Provider"] = "Postgres",
            ["ConnectionStrings:Ledger"] = _postgres.ConnectionString + ";Maximum Pool Size=10",
        };
    }

    protected override async Task DropAsync() => await _postgres.DisposeAsync();
}

/// <summary>Shares one <see cref="PostgresAccountApiFixture"/> between the PostgreSQL runs of the account API tests.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresAccountApiCollection : ICollectionFixture<PostgresAccountApiFixture>
{
    /// <summary>The collection name.</summary>
    public const string Name = "account-api-postgres";
}
