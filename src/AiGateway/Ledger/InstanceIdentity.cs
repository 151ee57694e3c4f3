namespace AiGateway.Ledger;

/// <summary>
/// This gateway instance's identity in its credit leases. It must survive a restart (so a restarted instance returns
/// the leases it held at once) and differ between instances sharing a database (two live instances with one id would
/// overwrite each other's lease). Configured as <c>Ledger:InstanceId</c>, or created once and kept in a file next to the
/// instance's own settlement journal (which is per instance already).
/// </summary>
public static class InstanceIdentity
{
    /// <summary>The configured id, else the one kept in <see cref="LedgerOptions.InstanceIdPath"/> (created on first use).</summary>
    public static string Resolve(LedgerOptions options, IConfiguration configuration)
    {
        if (!string.IsNullOrWhiteSpace(options.InstanceId)) return options.InstanceId.Trim();
        var path = IdPath(options, configuration);
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } kept) return kept;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var id = "gw-" + Guid.NewGuid().ToString("N")[..16];
        var temp = path + ".tmp";
        File.WriteAllText(temp, id);
        File.Move(temp, path, overwrite: true);
        return id;
    }

    /// <summary>
    /// The instance's local admission log (<see cref="AdmissionLog"/>): <c>lease-admissions.jsonl</c> next to its
    /// instance id file, so it is per instance like the settlement journal.
    /// </summary>
    public static string AdmissionLogPath(LedgerOptions options, IConfiguration configuration) =>
        Path.Combine(Path.GetDirectoryName(IdPath(options, configuration))!, "lease-admissions.jsonl");

    private static string IdPath(LedgerOptions options, IConfiguration configuration) => Path.GetFullPath(
        options.InstanceIdPath is { Length: > 0 } configured
            ? configured
            : Path.Combine(Path.GetDirectoryName(configuration["Metering:JournalPath"] is { Length: > 0 } journal ? journal : "data/settlement-journal.jsonl") ?? "data",
                "instance-id"));
}
