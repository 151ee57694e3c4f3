using AiGateway.Metering;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace AiGateway.Tests.Metering;

/// <summary>
/// <see cref="DatabaseFailure.IsRefusal"/> tells a database refusing the data (settle again without the record at once)
/// from a database failing (the caller journals the charge at once, no second attempt against a database that is down).
/// </summary>
public sealed class DatabaseFailureTests
{
    public static TheoryData<string, Exception, bool, bool> Cases => new()
    {
        { "SQLite NOT NULL", new SqliteException("NOT NULL constraint failed: call_records.route", 19), true, true },
        { "SQLite too big", new SqliteException("string or blob too big", 18), true, true },
        { "SQLite busy", new SqliteException("database is locked", 5), true, false },
        { "SQLite I/O error", new SqliteException("disk I/O error", 10), true, false },
        { "SQLite full", new SqliteException("database or disk is full", 13), true, false },
        { "PostgreSQL not-null violation", new PostgresException("null value in column", "ERROR", "ERROR", "23502"), true, true },
        { "PostgreSQL value too long", new PostgresException("value too long", "ERROR", "ERROR", "22001"), true, true },
        { "PostgreSQL connection failure", new PostgresException("connection failure", "FATAL", "FATAL", "08006"), true, false },
        { "PostgreSQL shutting down", new PostgresException("the database system is shutting down", "FATAL", "FATAL", "57P03"), true, false },
        { "wrapped refusal", new InvalidOperationException("wrapped", new SqliteException("UNIQUE constraint failed", 19)), true, true },
        { "timeout", new TimeoutException(), true, false },
        { "not the database", new ArgumentException("bad record"), false, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Refusals_AreDatabaseFailuresThatAnotherWriteGetsPast(string name, Exception exception, bool failure, bool refusal)
    {
        Assert.True(DatabaseFailure.Is(exception) == failure, $"{name}: DatabaseFailure.Is should be {failure}");
        Assert.True(DatabaseFailure.IsRefusal(exception) == refusal, $"{name}: DatabaseFailure.IsRefusal should be {refusal}");
    }
}
