// The yardstick for Pipewatch's parser core: simdjson's on-demand API extracting a dozen CloudTrail fields from
// every record of an NDJSON corpus, on one core. Prints records/s and MB/s (best of the runs).
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <string_view>

using namespace simdjson;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS.ndjson [runs]\n", argv[0]);
        return 1;
    }
    int runs = argc > 2 ? std::atoi(argv[2]) : 3;
    padded_string corpus;
    if (padded_string::load(argv[1]).get(corpus)) {
        std::fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    const char* fields[] = {"eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
                            "requestID", "eventID", "recipientAccountId", "errorCode"};
    double best = 0;
    size_t records = 0;
    size_t checksum = 0;
    for (int run = 0; run < runs; run++) {
        ondemand::parser parser;
        ondemand::document_stream stream;
        if (parser.iterate_many(corpus, 1 << 22).get(stream)) return 1;
        records = 0;
        auto start = std::chrono::steady_clock::now();
        for (auto doc : stream) {
            ondemand::object object;
            if (doc.get_object().get(object)) continue;
            for (const char* field : fields) {
                std::string_view value;
                if (!object.find_field_unordered(field).get_string().get(value)) checksum += value.size();
            }
            std::string_view type, arn;
            if (!object.find_field_unordered("userIdentity")["type"].get_string().get(type)) checksum += type.size();
            if (!object.find_field_unordered("userIdentity")["arn"].get_string().get(arn)) checksum += arn.size();
            records++;
        }
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        double rate = records / seconds;
        std::fprintf(stderr, "simdjson run %d: %zu records in %.3f s: %.0f records/s, %.0f MB/s\n", run + 1, records,
                     seconds, rate, corpus.size() / 1e6 / seconds);
        if (rate > best) best = rate;
    }
    std::printf("simdjson on-demand (12 fields): best %.0f records/s (%zu records, checksum %zu)\n", best, records,
                checksum);
    return 0;
}
