using AiGateway.Storage;
using Npgsql;

namespace AiGateway.Tests.Storage;

/// <summary>The gateway's PostgreSQL defaults (statements kept prepared on pooled connections) unless the operator chose.</summary>
public sealed class PostgresConnectionStringTests
{
    [Fact]
    public void WithNothingSet_StatementsStayPreparedOnPooledConnections()
    {
        var prepared = new NpgsqlConnectionStringBuilder(
            LedgerDatabase.PreparePostgresConnectionString("Host=127.0.0.1;Database=aigateway;Username=u;Password=p"));
        Assert.Equal((32, true), (prepared.MaxAutoPrepare, prepared.NoResetOnClose));
        Assert.Equal(("127.0.0.1", "aigateway", "u", "p"), (prepared.Host, prepared.Database, prepared.Username, prepared.Password));
    }

    [Theory]
    [InlineData("Host=h;Max Auto Prepare=0;No Reset On Close=false", 0, false)]
    [InlineData("Host=h;MaxAutoPrepare=10", 10, true)]
    [InlineData("Host=h;max auto prepare=5;noresetonclose=False", 5, false)]
    public void AnExplicitSettingWins(string connectionString, int maxAutoPrepare, bool noResetOnClose)
    {
        var prepared = new NpgsqlConnectionStringBuilder(LedgerDatabase.PreparePostgresConnectionString(connectionString));
        Assert.Equal((maxAutoPrepare, noResetOnClose), (prepared.MaxAutoPrepare, prepared.NoResetOnClose));
    }
}
