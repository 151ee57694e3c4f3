using System.Text.Json;
using System.Text.Json.Serialization;
using AiGateway.Storage;

namespace AiGateway.Ledger;

/// <summary>
/// The JSON of the interrupted-call record a hold carries (<see cref="CreditLedger.ReserveAsync"/>): source-generated,
/// defaults omitted, because it is written on every admission (reflection-based serialization of the ~35 fields cost
/// several times more).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(CallRecord))]
[JsonSerializable(typeof(List<CallRecord>))]
[JsonSerializable(typeof(IReadOnlyList<CallRecord>))]
internal sealed partial class CallRecordJson : JsonSerializerContext;
