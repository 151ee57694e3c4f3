using System.Text.Json;
using AiGateway.History;

namespace AiGateway.Hosting;

/// <summary>
/// <c>AiGateway --read-archive FOLDER [yyyy-MM]</c>: checks every part of a call archive against its SHA-256 in the
/// manifest and prints the archived call records (optionally of one month) as JSON lines; exits 1 when a part is
/// missing or altered.
/// </summary>
public static class ArchiveCommand
{
    /// <summary>Whether the arguments ask to read an archive instead of starting the gateway.</summary>
    public static bool IsRequested(string[] args) => args.Length is 2 or 3 && args[0] == "--read-archive";

    /// <summary>Writes the archived records to <paramref name="output"/>; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var archive = new CallArchive(args[1]);
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        try
        {
            await foreach (var record in archive.ReadAsync(args.Length == 3 ? args[2] : null))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(record, options));
            }
            return 0;
        }
        catch (InvalidDataException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return 1;
        }
    }
}
