import time
def test_timing(request, db):
    for name in ["cast","project","pacs","threers","lab","transcript","other_transcript","world"]:
        t=time.perf_counter(); request.getfixturevalue(name); print(name, round(time.perf_counter()-t,3))
def test_timing2(request, db):
    test_timing(request, db)
